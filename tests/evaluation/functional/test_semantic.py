"""mIoU / mAcc / aAcc with mmseg conventions, on hand-counted maps."""
import numpy as np
import pytest

from seg.evaluation.functional import evaluate_semantic, intersect_and_union, semantic_metrics
from seg.evaluation.functional.panoptic_quality import PanopticCategories
from seg.evaluation.functional.semantic import reduce_zero_label, semantic_from_panoptic

from ..conftest import CASE

LABEL = np.array([[0, 0, 1], [1, 255, 2]])
PRED = np.array([[0, 1, 1], [1, 0, 5]])  # 5 is outside the 3 classes


def test_areas_follow_mmseg():
    intersect, union, pred, label = intersect_and_union(PRED, LABEL, 3, ignore_index=255)
    assert intersect.tolist() == [1, 2, 0]
    assert pred.tolist() == [1, 3, 0]      # the out-of-range 5 counts in no class
    assert label.tolist() == [2, 2, 1]     # the ignored pixel is dropped
    assert union.tolist() == [2, 3, 1]


def test_summary_skips_undefined_classes():
    areas = [np.append(a, 0) for a in intersect_and_union(PRED, LABEL, 3, 255)]  # class 3 absent
    result = semantic_metrics(*areas, class_names=['a', 'b', 'c', 'd'])
    assert result['aAcc'] == pytest.approx(3 / 5)
    assert result['mIoU'] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert result['mAcc'] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert np.isnan(result['per_class']['d']['IoU'])


def test_gt_label_outside_the_classes_is_an_error():
    with pytest.raises(ValueError, match='GT label 2 is outside'):
        intersect_and_union(PRED, LABEL, 2, ignore_index=255)


def test_reduce_zero_label():
    assert reduce_zero_label(np.array([0, 1, 5, 255])).tolist() == [255, 0, 4, 255]


def test_semantic_map_from_panoptic_gt():
    categories = PanopticCategories((1, 10), ('a', 's'), (True, False))
    ids = np.array([[0, 7, 8], [9, 9, 7]])
    segments = [{'id': 7, 'category_id': 10, 'iscrowd': 0, 'area': 2},
                {'id': 8, 'category_id': 1, 'iscrowd': 1, 'area': 1},
                {'id': 9, 'category_id': 1, 'iscrowd': 0, 'area': 2}]
    ignoring = semantic_from_panoptic(ids, segments, categories, ignore_index=99)
    assert ignoring.tolist() == [[99, 1, 99], [0, 0, 1]]
    keeping = semantic_from_panoptic(ids, segments, categories, 99, ignore_crowd=False)
    assert keeping.tolist() == [[99, 1, 0], [0, 0, 1]]


def test_missing_prediction_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='000000000001.png'):
        evaluate_semantic(CASE / 'semseg' / 'gt', tmp_path, num_classes=7)
