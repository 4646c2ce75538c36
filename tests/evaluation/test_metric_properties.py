"""Property-based checks of PQ, mask AP and mIoU on random small ground truth / prediction pairs
(issue 19): a perfect prediction scores 1, an empty one 0, renumbering ids changes nothing, and
splitting the images into two sets and merging the per-image statistics gives the whole-set
result."""
import contextlib
import copy
import io

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools.cocoeval import COCOeval

from seg.evaluation.functional.coco_ap import coco_mask_ap, quiet_coco, summarize_cocoeval
from seg.evaluation.functional.panoptic_quality import (PanopticCategories, PQStat,
                                                        pq_image_stats, pq_summary)
from seg.evaluation.functional.semantic import intersect_and_union, semantic_metrics

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
NUM_CATEGORIES = 4      # ids 1..4; 1, 2 things, 3, 4 stuff
CATEGORIES = PanopticCategories((1, 2, 3, 4), ('a', 'b', 'c', 'd'), (True, True, False, False))


@st.composite
def image_sets(draw, min_images=1, max_images=4):
    """Images as (segment map (H, W) of 0 = void / 1..K, category of each segment 1..4)."""
    images = []
    for _ in range(draw(st.integers(min_images, max_images))):
        height, width = draw(st.integers(2, 7)), draw(st.integers(2, 7))
        count = draw(st.integers(1, 5))
        seed = draw(st.integers(0, 2 ** 31 - 1))
        rng = np.random.RandomState(seed)
        segment_map = rng.randint(0, count + 1, (height, width))
        present = [s for s in range(1, count + 1) if (segment_map == s).any()]
        if not present:          # at least one segment per image
            segment_map[0, 0] = 1
            present = [1]
        categories = {s: int(rng.randint(1, NUM_CATEGORIES + 1)) for s in present}
        images.append((segment_map, categories))
    return images


def renumbered(segment_map, categories, seed):
    """The same segments under other (random, distinct, positive) ids."""
    rng = np.random.RandomState(seed)
    new_ids = rng.choice(np.arange(1, 5000), size=len(categories), replace=False)
    mapping = dict(zip(categories, (int(i) for i in new_ids)))
    table = np.zeros(segment_map.max() + 1, np.int64)
    for old, new in mapping.items():
        table[old] = new
    return table[segment_map], {mapping[s]: c for s, c in categories.items()}


def segments_info(segment_map, categories, gt):
    info = []
    for segment, category in categories.items():
        entry = {'id': int(segment), 'category_id': category}
        if gt:
            entry.update(iscrowd=0, area=int((segment_map == segment).sum()))
        info.append(entry)
    return info


def assert_same(actual, expected, where='result'):
    """Nested dicts equal up to float summation order (1e-12 relative); NaN equals NaN."""
    if isinstance(expected, dict):
        assert sorted(actual, key=str) == sorted(expected, key=str), where
        for key in expected:
            assert_same(actual[key], expected[key], f'{where}.{key}')
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-12, nan_ok=True), where
    else:
        assert actual == expected, where


# ------------------------------------------------------------------------------------- PQ
def pq_stat(gt_images, pred_images) -> PQStat:
    stat = PQStat.zeros(len(CATEGORIES))
    for (gt_map, gt_cats), (pred_map, pred_cats) in zip(gt_images, pred_images):
        stat += pq_image_stats(gt_map, segments_info(gt_map, gt_cats, True), pred_map,
                               segments_info(pred_map, pred_cats, False), CATEGORIES)
    return stat


def noisy(images, seed):
    """A prediction: each GT pixel keeps its segment, with some pixels moved to another."""
    rng = np.random.RandomState(seed)
    out = []
    for segment_map, categories in images:
        pred = segment_map.copy()
        flip = rng.rand(*pred.shape) < 0.3
        pred[flip] = rng.choice(list(categories), size=int(flip.sum()))
        out.append((pred, {s: c for s, c in categories.items() if (pred == s).any()}))
    return out


@SETTINGS
@given(image_sets())
def test_pq_perfect_prediction_is_one(images):
    result = pq_summary(pq_stat(images, images), CATEGORIES)
    assert result['All']['pq'] == pytest.approx(1.0)
    assert result['All']['sq'] == pytest.approx(1.0) and result['All']['rq'] == 1.0


@SETTINGS
@given(image_sets())
def test_pq_empty_prediction_is_zero(images):
    empty = [(np.zeros_like(segment_map), {}) for segment_map, _ in images]
    stat = pq_stat(images, empty)
    result = pq_summary(stat, CATEGORIES)
    assert result['All']['pq'] == 0.0 and result['All']['n'] >= 1
    assert stat.tp.sum() == 0 and stat.fp.sum() == 0 and stat.fn.sum() == sum(
        len(categories) for _, categories in images)


@SETTINGS
@given(image_sets(), st.integers(0, 10 ** 6))
def test_pq_renumbering_segment_ids_changes_nothing(images, seed):
    predictions = noisy(images, seed)
    reference = pq_summary(pq_stat(images, predictions), CATEGORIES)
    gt_renumbered = [renumbered(m, c, seed + i) for i, (m, c) in enumerate(images)]
    pred_renumbered = [renumbered(m, c, seed + 100 + i) for i, (m, c) in enumerate(predictions)]
    assert_same(pq_summary(pq_stat(gt_renumbered, pred_renumbered), CATEGORIES), reference)


@SETTINGS
@given(image_sets(min_images=2), st.integers(0, 10 ** 6), st.data())
def test_pq_split_and_merge_equals_whole(images, seed, data):
    predictions = noisy(images, seed)
    cut = data.draw(st.integers(1, len(images) - 1))
    merged = pq_stat(images[:cut], predictions[:cut])
    merged += pq_stat(images[cut:], predictions[cut:])
    whole = pq_stat(images, predictions)
    assert_same(pq_summary(merged, CATEGORIES), pq_summary(whole, CATEGORIES))


# ----------------------------------------------------------------------------------- mIoU
def label_map(segment_map, categories):
    """Semantic labels 0..3 (255 = void) of a segment map."""
    labels = np.full(segment_map.shape, 255, np.int64)
    for segment, category in categories.items():
        labels[segment_map == segment] = category - 1
    return labels


def areas(gt_labels, pred_labels):
    totals = [np.zeros(NUM_CATEGORIES, np.int64) for _ in range(4)]
    for gt, pred in zip(gt_labels, pred_labels):
        for total, area in zip(totals, intersect_and_union(pred, gt, NUM_CATEGORIES, 255)):
            total += area
    return totals


@SETTINGS
@given(image_sets())
def test_miou_perfect_is_one_and_empty_is_zero(images):
    labels = [label_map(*image) for image in images]
    perfect = semantic_metrics(*areas(labels, labels))
    assert perfect['mIoU'] == 1.0 and perfect['aAcc'] == 1.0
    nothing = [np.full(label.shape, 255) for label in labels]   # no pixel predicted
    empty = semantic_metrics(*areas(labels, nothing))
    assert empty['mIoU'] == 0.0 and empty['aAcc'] == 0.0


@SETTINGS
@given(image_sets(), st.integers(0, 10 ** 6), st.permutations(range(NUM_CATEGORIES)))
def test_miou_permuting_class_ids_changes_nothing(images, seed, permutation):
    labels = [label_map(*image) for image in images]
    predictions = [label_map(*image) for image in noisy(images, seed)]
    table = np.array(list(permutation) + [255] * 252)
    table[255] = 255
    reference = semantic_metrics(*areas(labels, predictions))
    permuted = semantic_metrics(*areas([table[x] for x in labels], [table[x] for x in predictions]))
    assert_same(permuted['mIoU'], reference['mIoU'])
    assert_same(permuted['aAcc'], reference['aAcc'])
    for old, new in enumerate(permutation):
        assert_same(permuted['per_class'][str(new)], reference['per_class'][str(old)])


@SETTINGS
@given(image_sets(min_images=2), st.integers(0, 10 ** 6), st.data())
def test_miou_split_and_merge_equals_whole(images, seed, data):
    labels = [label_map(*image) for image in images]
    predictions = [label_map(*image) for image in noisy(images, seed)]
    cut = data.draw(st.integers(1, len(images) - 1))
    first, second = areas(labels[:cut], predictions[:cut]), areas(labels[cut:], predictions[cut:])
    merged = semantic_metrics(*(a + b for a, b in zip(first, second)))
    assert_same(merged, semantic_metrics(*areas(labels, predictions)))


# ------------------------------------------------------------------------------------- AP
def coco_case(images, seed=0, image_id_offset=1):
    """GT instances of the thing segments (category 1 / 2) and scored predictions."""
    rng = np.random.RandomState(seed)
    dataset = dict(images=[], annotations=[], categories=[{'id': 1}, {'id': 2}])
    results = []
    for index, (segment_map, categories) in enumerate(images):
        image_id = index + image_id_offset
        height, width = segment_map.shape
        dataset['images'].append(dict(id=image_id, height=height, width=width))
        for segment, category in categories.items():
            if category > 2:
                continue
            rle = mask_utils.encode(np.asfortranarray((segment_map == segment).astype(np.uint8)))
            rle['counts'] = rle['counts'].decode()
            dataset['annotations'].append(dict(
                id=len(dataset['annotations']) + 1, image_id=image_id, category_id=category,
                segmentation=rle, area=float(mask_utils.area(rle)),
                bbox=list(mask_utils.toBbox(rle)), iscrowd=0))
            results.append(dict(image_id=image_id, category_id=category, segmentation=rle,
                                score=float(rng.uniform(0.05, 1.0))))
    return dataset, results


def has_things(images):
    return any(c <= 2 for _, categories in images for c in categories.values())


@SETTINGS
@given(image_sets())
def test_ap_perfect_is_one_and_empty_is_zero(images):
    if not has_things(images):
        images = [(images[0][0], {s: 1 for s in images[0][1]})] + images[1:]
    dataset, results = coco_case(images)
    assert coco_mask_ap(quiet_coco(dataset), results)['stats']['AP'] == pytest.approx(1.0)
    assert coco_mask_ap(quiet_coco(dataset), [])['stats']['AP'] == 0.0


@SETTINGS
@given(image_sets(), st.integers(0, 10 ** 6), st.integers(2, 1000))
def test_ap_renumbering_image_ids_changes_nothing(images, seed, offset):
    if not has_things(images):
        images = [(images[0][0], {s: 2 for s in images[0][1]})] + images[1:]
    dataset, results = coco_case(images, seed)
    results = results[::2]      # an imperfect prediction
    reference = coco_mask_ap(quiet_coco(dataset), results)['stats']
    moved, moved_results = coco_case(images, seed, image_id_offset=offset)
    rng = np.random.RandomState(seed)
    moved_results = moved_results[::2]
    order = rng.permutation(len(moved_results))   # result order does not matter either
    assert_same(coco_mask_ap(quiet_coco(moved), [moved_results[i] for i in order])['stats'],
                reference)


def _evaluator(dataset, results, image_ids):
    gt = quiet_coco(copy.deepcopy(dataset))
    evaluator = COCOeval(gt, gt.loadRes(copy.deepcopy(results)) if results else None,
                         iouType='segm')
    evaluator.params.imgIds = sorted(image_ids)
    return evaluator


@SETTINGS
@given(image_sets(min_images=2), st.integers(0, 10 ** 6), st.data())
def test_ap_split_and_merge_of_per_image_statistics(images, seed, data):
    """COCOeval's per-image statistics (evalImgs) of two halves, merged and accumulated, give
    the whole set's AP."""
    if not has_things(images):
        images = [(images[0][0], {s: 1 for s in images[0][1]})] + images[1:]
    dataset, results = coco_case(images, seed)
    results = results[1::2] + results[:1]
    if not results:
        results = coco_case(images, seed)[1]
    ids = [image['id'] for image in dataset['images']]
    cut = data.draw(st.integers(1, len(ids) - 1))
    whole = _evaluator(dataset, results, ids)
    expected = summarize_cocoeval(whole)['stats']
    per_image = {}
    for part in (ids[:cut], ids[cut:]):
        evaluator = _evaluator(dataset, results, part)
        evaluator.evaluate()
        params = evaluator.params
        keys = [(c, tuple(a), i) for c in params.catIds for a in params.areaRng
                for i in params.imgIds]
        per_image.update(zip(keys, evaluator.evalImgs))
    merged = _evaluator(dataset, results, ids)
    merged.evaluate()
    params = merged.params
    merged.evalImgs = [per_image[(c, tuple(a), i)] for c in params.catIds
                       for a in params.areaRng for i in params.imgIds]
    with contextlib.redirect_stdout(io.StringIO()):
        merged.accumulate()
        merged.summarize()
    assert [float(s) for s in merged.stats] == pytest.approx(list(expected.values()))
