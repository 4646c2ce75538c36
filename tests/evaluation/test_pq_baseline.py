"""The benchmark's per-segment loop PQ baseline (panopticapi rules) reproduces the official
panopticapi numbers of the shared case and agrees with the vectorised evaluator on generated
files, so the speed comparison of `--pq-baseline` compares equal computations."""
import json
from pathlib import Path

import numpy as np
import pytest

from seg.evaluation.functional import PanopticCategories, evaluate_coco_panoptic, pq_summary
from seg.testing.evaluation_benchmark import (CATEGORIES, make_image,
                                              pq_compute_single_core_loop, write_panoptic_set)

from .conftest import CASE, assert_close


def test_loop_baseline_matches_panopticapi_on_the_shared_case(expected):
    root = CASE / 'coco_panoptic'
    stat = pq_compute_single_core_loop(root / 'panoptic_gt.json', root / 'panoptic_gt',
                                       root / 'panoptic_pred.json', root / 'panoptic_pred')
    categories = PanopticCategories.from_coco(
        json.loads((root / 'panoptic_gt.json').read_text())['categories'])
    result = pq_summary(stat, categories)
    reference = expected['coco_panoptic']
    assert_close(result, {k: reference[k] for k in ('All', 'Things', 'Stuff')}, 1e-9)


def test_loop_baseline_agrees_with_the_evaluator_on_generated_files(tmp_path):
    rng = np.random.default_rng(3)
    images = [make_image(rng, 15, size=(48, 64)) for _ in range(3)]
    files = write_panoptic_set(Path(tmp_path), images)
    stat = pq_compute_single_core_loop(**files)
    ours = evaluate_coco_panoptic(**files)
    result = pq_summary(stat, PanopticCategories.from_coco(CATEGORIES))
    assert sum(row['tp'] for row in result['per_class'].values()) > 0
    for category_id, row in result['per_class'].items():
        mine = ours['per_class'][category_id]
        assert (row['tp'], row['fp'], row['fn']) == (mine['tp'], mine['fp'], mine['fn'])
    assert result['All']['pq'] == pytest.approx(ours['All']['pq'], abs=1e-12)
