"""PQ edge cases of the shared case, rebuilt by hand on 10x10 images."""
import numpy as np
import pytest

from seg.evaluation.functional.panoptic_quality import (PanopticCategories, PQStat,
                                                        pq_image_stats, pq_summary,
                                                        segments_from_label_map)

A, B, S, T = 1, 2, 10, 11  # things A, B; stuff S, T
CATEGORIES = PanopticCategories((A, B, S, T), ('a', 'b', 's', 't'), (True, True, False, False))


def canvas(fill: int = 0) -> np.ndarray:
    return np.full((10, 10), fill, np.int64)


def segments(id_map: np.ndarray, categories: dict, crowd=(), areas=None) -> list:
    """GT-style segment list of the ids of `id_map` (area = pixel count unless given)."""
    areas = areas or {}
    return [{'id': i, 'category_id': c, 'iscrowd': int(i in crowd),
             'area': areas.get(i, int((id_map == i).sum()))} for i, c in categories.items()]


def stats(gt, gt_categories, pred, pred_categories, crowd=(), areas=None) -> dict:
    stat = pq_image_stats(gt, segments(gt, gt_categories, crowd, areas), pred,
                          [{'id': i, 'category_id': c} for i, c in pred_categories.items()],
                          CATEGORIES)
    return {c: (int(stat.tp[k]), int(stat.fp[k]), int(stat.fn[k]), float(stat.iou[k]))
            for k, c in enumerate(CATEGORIES.ids)}


def test_shifted_boundary_is_a_true_positive():
    gt, pred = canvas(5), canvas(6)          # stuff S everywhere else, in both
    gt[0:4, 0:5] = 1                         # 20 px
    pred[0:4, 1:6] = 2                       # 20 px, 16 shared
    result = stats(gt, {5: S, 1: A}, pred, {6: S, 2: A})
    assert result[A] == (1, 0, 0, pytest.approx(16 / 24))
    assert result[S] == (1, 0, 0, pytest.approx(76 / 84))  # 80 px each, 76 shared


def test_prediction_on_gt_void_leaves_the_union():
    gt, pred = canvas(0), canvas(0)          # GT void around the object
    gt[0:4, 0:5] = 1
    pred[0:4, 1:6] = 2                       # 4 of its pixels lie on GT void
    assert stats(gt, {1: A}, pred, {2: A})[A] == (1, 0, 0, pytest.approx(16 / (20 + 20 - 16 - 4)))


def test_shift_below_half_iou_is_false_positive_and_negative():
    gt, pred = canvas(5), canvas(6)
    gt[0:4, 0:4] = 1
    pred[0:4, 2:6] = 2                       # IoU 8 / 24
    assert stats(gt, {5: S, 1: A}, pred, {6: S, 2: A})[A] == (0, 1, 1, 0.0)


def test_miss_and_wrong_class():
    gt, pred = canvas(5), canvas(6)
    gt[0:2, 0:5] = 1
    gt[5:7, 0:5] = 2
    pred[5:7, 0:5] = 3                       # GT 1 missed; GT 2 (B) predicted as A
    result = stats(gt, {5: S, 1: A, 2: B}, pred, {6: S, 3: A})
    assert result[A] == (0, 1, 1, 0.0)
    assert result[B] == (0, 0, 1, 0.0)


def test_split_65_35_gives_true_and_false_positive():
    gt, pred = canvas(5), canvas(6)
    gt[0:2, :] = 1                           # 20 px
    pred[0:2, :] = 2
    pred[1, 3:10] = 3                        # 7 px split off, 13 left
    result = stats(gt, {5: S, 1: A}, pred, {6: S, 2: A, 3: A})
    assert result[A] == (1, 1, 0, pytest.approx(0.65))
    summary = pq_summary(_stat(result), CATEGORIES)
    assert summary['per_class'][A]['pq'] == pytest.approx(0.65 / 1.5)
    assert summary['per_class'][A]['rq'] == pytest.approx(1 / 1.5)


def test_two_gt_merged_into_one_prediction():
    gt, pred = canvas(5), canvas(6)
    gt[0, 0:10] = 1                          # 10 px
    gt[1, 0:4] = 2                           # 4 px
    pred[0, 0:10] = 3
    pred[1, 0:4] = 3                         # one 14 px prediction
    assert stats(gt, {5: S, 1: A, 2: A}, pred, {6: S, 3: A})[A] == (1, 0, 1,
                                                                   pytest.approx(10 / 14))


def test_iou_of_exactly_half_is_not_a_match():
    gt, pred = canvas(5), canvas(6)
    gt[0, 0:6] = 1
    pred[0, 2:8] = 2                         # 4 shared of a union of 8
    assert stats(gt, {5: S, 1: A}, pred, {6: S, 2: A})[A] == (0, 1, 1, 0.0)


@pytest.mark.parametrize('inside,counted', [(10, 0), (5, 1)])
def test_same_class_prediction_on_crowd(inside, counted):
    gt, pred = canvas(5), canvas(6)
    gt[0:2, 0:10] = 1                        # a 20 px crowd region of A
    pred[0, 0:inside] = 2                    # 10 px, `inside` of them on the crowd
    pred[2, 0:10 - inside] = 2
    result = stats(gt, {5: S, 1: A}, pred, {6: S, 2: A}, crowd={1})
    assert result[A] == (0, counted, 0, 0.0)  # crowds never give false negatives


def test_other_class_prediction_on_crowd_is_a_false_positive():
    gt, pred = canvas(5), canvas(6)
    gt[0:2, 0:10] = 1
    pred[0, 0:10] = 2
    assert stats(gt, {5: S, 1: A}, pred, {6: S, 2: B}, crowd={1})[B] == (0, 1, 0, 0.0)


def test_only_the_last_listed_crowd_of_a_class_is_used():
    gt, pred = canvas(5), canvas(6)
    gt[0, :] = 1                             # first crowd of A
    gt[5, :] = 2                             # second (last listed) crowd of A
    pred[0, :] = 3                           # fully on the first crowd: still counted
    result = stats(gt, {5: S, 1: A, 2: A}, pred, {6: S, 3: A}, crowd={1, 2})
    assert result[A] == (0, 1, 0, 0.0)


@pytest.mark.parametrize('on_void,counted', [(10, 0), (5, 1)])
def test_prediction_on_void(on_void, counted):
    gt, pred = canvas(5), canvas(6)
    gt[0, :] = 0                             # a void strip
    pred[0, 0:on_void] = 2
    pred[1, 0:10 - on_void] = 2
    assert stats(gt, {5: S}, pred, {6: S, 2: A})[A] == (0, counted, 0, 0.0)


def test_unlabelled_prediction_pixels_lower_the_iou():
    gt, pred = canvas(0), canvas(0)
    gt[0:2, :] = 1                           # 20 px
    pred[0:2, 0:6] = 2                       # 12 labelled, 8 left void
    assert stats(gt, {1: A}, pred, {2: A})[A] == (1, 0, 0, pytest.approx(0.6))


def test_gt_area_comes_from_the_json():
    gt, pred = canvas(0), canvas(0)
    gt[0:2, :] = 1
    pred[0:2, :] = 2
    result = stats(gt, {1: A}, pred, {2: A}, areas={1: 30})
    assert result[A] == (1, 0, 0, pytest.approx(20 / 30))


def test_stuff_confusion():
    gt, pred = canvas(5), canvas(6)
    result = stats(gt, {5: S}, pred, {6: T})
    assert result[S] == (0, 0, 1, 0.0) and result[T] == (0, 1, 0, 0.0)


def _stat(per_category: dict) -> PQStat:
    stat = PQStat.zeros(len(CATEGORIES))
    for k, category in enumerate(CATEGORIES.ids):
        tp, fp, fn, iou = per_category.get(category, (0, 0, 0, 0.0))
        stat.tp[k], stat.fp[k], stat.fn[k], stat.iou[k] = tp, fp, fn, iou
    return stat


def test_averages_count_false_positive_only_classes_and_skip_absent_ones():
    summary = pq_summary(_stat({A: (1, 0, 0, 0.8), B: (0, 1, 0, 0.0), S: (2, 0, 0, 1.8)}),
                         CATEGORIES)
    assert summary['All'] == pytest.approx({'pq': (0.8 + 0 + 0.9) / 3, 'sq': (0.8 + 0 + 0.9) / 3,
                                            'rq': (1 + 0 + 1) / 3, 'n': 3})
    assert summary['Things'] == pytest.approx({'pq': 0.4, 'sq': 0.4, 'rq': 0.5, 'n': 2})
    assert summary['Stuff'] == pytest.approx({'pq': 0.9, 'sq': 0.9, 'rq': 1.0, 'n': 1})
    assert summary['per_class'][T]['pq'] == 0.0 and summary['per_class'][T]['tp'] == 0


def test_group_without_any_category_is_undefined():
    summary = pq_summary(_stat({S: (1, 0, 0, 1.0)}), CATEGORIES)
    assert summary['Things'] == {'pq': -1.0, 'sq': -1.0, 'rq': -1.0, 'n': 0}


def test_malformed_segments_are_named():
    gt, pred = canvas(5), canvas(6)
    with pytest.raises(KeyError, match=r'prediction\): segment id\(s\) \[7\] listed in the json'):
        stats(gt, {5: S}, pred, {6: S, 7: A})
    with pytest.raises(KeyError, match=r'GT\): segment id\(s\) \[5\] present in the PNG'):
        stats(gt, {}, pred, {6: S})
    with pytest.raises(KeyError, match='unknown category_id 99'):
        stats(gt, {5: 99}, pred, {6: S})
    with pytest.raises(ValueError, match='listed twice'):
        pq_image_stats(gt, segments(gt, {5: S}) * 2, pred, [{'id': 6, 'category_id': S}],
                       CATEGORIES)


def test_model_label_map_becomes_segments():
    label_map = np.array([[4, 4, 1000, 1000], [2000, 3, 3, 4]])  # num_classes = 4 is void
    ids, found = segments_from_label_map(label_map, num_classes=4, category_ids=(1, 2, 10, 11),
                                         label_divisor=1000)
    assert ids.tolist() == [[0, 0, 1001, 1001], [2001, 4, 4, 0]]
    assert found == [{'id': 4, 'category_id': 11}, {'id': 1001, 'category_id': 1},
                     {'id': 2001, 'category_id': 1}]
