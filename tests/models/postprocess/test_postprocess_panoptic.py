"""Panoptic fusion rules on hand-built logits (2 thing classes 0, 1; 2 stuff classes 2, 3)."""
import math

import pytest
import torch

from seg.models.postprocess import panoptic_postprocess
from seg.utils.constants import INSTANCE_OFFSET

NUM_THINGS, NUM_STUFF = 2, 2
NO_OBJECT = NUM_THINGS + NUM_STUFF  # also the value of unassigned pixels
ON, OFF = 10.0, -10.0


def class_logits(*rows):
    """Logits whose softmax is the given probabilities; a bare label means probability ~1."""
    out = []
    for row in rows:
        if isinstance(row, int):
            probs = [1e-6] * (NO_OBJECT + 1)
            probs[row] = 1.0
        else:
            probs = row
        out.append([math.log(p) for p in probs])
    return torch.tensor(out)


def column_masks(width, *columns_per_query, height=2):
    """(Q, height, width) mask logits: ON on the listed columns of each query, OFF elsewhere."""
    masks = torch.full((len(columns_per_query), height, width), OFF)
    for query, columns in enumerate(columns_per_query):
        for column, value in (columns.items() if isinstance(columns, dict)
                              else ((c, ON) for c in columns)):
            masks[query, :, column] = value
    return masks


def columns_of(panoptic):
    """Per-column value of a map whose rows are identical."""
    assert torch.equal(panoptic, panoptic[:1].expand_as(panoptic))
    return panoptic[0].tolist()


def run(mask_cls, mask_pred, **kwargs):
    return panoptic_postprocess(mask_cls, mask_pred, NUM_THINGS, NUM_STUFF, **kwargs)


def test_two_queries_of_one_stuff_class_merge_into_one_segment():
    panoptic = run(class_logits(2, 2), column_masks(4, [0, 1], [2, 3]))
    assert panoptic.dtype == torch.int32 and panoptic.shape == (2, 4)
    assert columns_of(panoptic) == [2, 2, 2, 2]


def test_instance_ids_count_only_surviving_things_in_query_order():
    mask_cls = class_logits(
        0,                                   # q0 thing -> id 1
        NO_OBJECT,                           # q1 no-object: dropped
        3,                                   # q2 stuff: no id
        [0.02, 0.5, 0.02, 0.02, 0.44],       # q3 thing, score 0.5 <= object_mask_thr
        [0.9, 0.025, 0.025, 0.025, 0.025],   # q4 thing losing half its mask to q0: ratio 0.5
        1)                                   # q5 thing -> id 2
    mask_pred = column_masks(10, [0, 1], [2, 3], [2, 3], [4, 5], [0, 1, 6, 7], [8, 9])
    panoptic = run(mask_cls, mask_pred, object_mask_thr=0.8, iou_thr=0.8, filter_low_score=True)
    first, second = 0 + 1 * INSTANCE_OFFSET, 1 + 2 * INSTANCE_OFFSET
    assert columns_of(panoptic) == [first, first, 3, 3, NO_OBJECT, NO_OBJECT, NO_OBJECT,
                                    NO_OBJECT, second, second]


@pytest.mark.parametrize('iou_thr, survives', [(0.8, False), (0.26, False), (0.25, True),
                                               (0.2, True)])
def test_area_ratio_filter_uses_assigned_area_over_own_mask_area(iou_thr, survives):
    # q1 (score 0.9) covers 4 columns but q0 (score ~1) wins 3 of them: ratio 1/4.
    mask_cls = class_logits(0, [0.025, 0.9, 0.025, 0.025, 0.025])
    panoptic = run(mask_cls, column_masks(4, [0, 1, 2], [0, 1, 2, 3]), iou_thr=iou_thr)
    last = 1 + 2 * INSTANCE_OFFSET if survives else NO_OBJECT
    assert columns_of(panoptic) == [INSTANCE_OFFSET] * 3 + [last]


@pytest.mark.parametrize('object_mask_thr, kept',
                         [(0.8, False), (0.75, False), (0.65, True), (0.0, True)])
def test_object_mask_thr_keeps_queries_scoring_above_it(object_mask_thr, kept):
    mask_cls = class_logits([0.1, 0.7, 0.1, 0.05, 0.05])
    panoptic = run(mask_cls, column_masks(3, [0, 1, 2]), object_mask_thr=object_mask_thr)
    assert columns_of(panoptic) == [1 + INSTANCE_OFFSET if kept else NO_OBJECT] * 3


def test_query_whose_best_class_is_no_object_is_dropped_even_at_zero_threshold():
    mask_cls = class_logits([0.3, 0.05, 0.025, 0.025, 0.6])
    panoptic = run(mask_cls, column_masks(3, [0, 1, 2]), object_mask_thr=0.0)
    assert columns_of(panoptic) == [NO_OBJECT] * 3


def test_unassigned_map_is_num_classes_when_nothing_is_kept():
    panoptic = run(class_logits(NO_OBJECT, NO_OBJECT), column_masks(5, [0], [1], height=3))
    assert panoptic.shape == (3, 5) and panoptic.dtype == torch.int32
    assert bool((panoptic == NO_OBJECT).all())


def test_filter_low_score_unpaints_won_pixels_below_half_probability():
    # q0 wins every column; its own probability is only sigmoid(-1) on columns 2-3.
    mask_cls = class_logits(2, [0.025, 0.025, 0.025, 0.9, 0.025])
    mask_pred = column_masks(4, {0: ON, 1: ON, 2: -1.0, 3: -1.0}, {2: -3.0, 3: -3.0})
    assert columns_of(run(mask_cls, mask_pred, filter_low_score=False)) == [2, 2, 2, 2]
    assert columns_of(run(mask_cls, mask_pred, filter_low_score=True)) == [2, 2, NO_OBJECT,
                                                                           NO_OBJECT]


def test_area_ratio_is_computed_before_the_low_score_filter():
    # q0's confident mask is columns 0-1 but q1 wins column 1; q0 also wins the low
    # columns 2-3: ratio 3/2 before the filter (1/2 after it) -> q0 survives.
    mask_cls = class_logits(2, 3)
    mask_pred = column_masks(4, {0: ON, 1: 2.0, 2: -1.0, 3: -1.0}, {1: ON})
    panoptic = run(mask_cls, mask_pred, iou_thr=0.8, filter_low_score=True)
    assert columns_of(panoptic) == [2, 3, NO_OBJECT, NO_OBJECT]


def test_thing_whose_pixels_are_all_filtered_still_takes_an_instance_id():
    # Reference behaviour: q0 survives the ratio test (it wins columns 1-3, ratio 3/1) and
    # takes id 1, but every pixel it wins is below 0.5, so only id 2 (q2) is visible.
    mask_cls = class_logits(0, 2, 1)
    mask_pred = column_masks(5, {0: 2.0, 1: -1.0, 2: -1.0, 3: -1.0}, {0: ON}, {4: ON})
    panoptic = run(mask_cls, mask_pred, filter_low_score=True)
    assert columns_of(panoptic) == [2, NO_OBJECT, NO_OBJECT, NO_OBJECT, 1 + 2 * INSTANCE_OFFSET]


def test_kept_query_that_wins_no_pixel_takes_no_instance_id():
    # q1 is kept (score ~1) but q0 wins every pixel (ties go to the first query); even with
    # no ratio requirement a query without pixels is not a segment.
    mask_cls = class_logits(0, 0, 1)
    mask_pred = column_masks(3, [0, 1], [0, 1], [2])
    assert columns_of(run(mask_cls, mask_pred, iou_thr=0.0)) == [INSTANCE_OFFSET, INSTANCE_OFFSET,
                                                    1 + 2 * INSTANCE_OFFSET]


def test_class_count_mismatch_is_rejected():
    with pytest.raises(ValueError, match='columns'):
        panoptic_postprocess(torch.zeros(2, 4), torch.zeros(2, 3, 3), NUM_THINGS, NUM_STUFF)


def test_query_without_any_confident_pixel_is_not_a_segment():
    # q0 wins every pixel but its probability never reaches 0.5: empty own mask, dropped.
    mask_pred = torch.full((1, 2, 3), -1.0)
    panoptic = run(class_logits(2), mask_pred, iou_thr=0.0, filter_low_score=False)
    assert columns_of(panoptic) == [NO_OBJECT] * 3
