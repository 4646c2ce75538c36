"""Click protocol on hand-made masks: first click, corrective clicks, NoC / mIoU@k."""
from pathlib import Path

import numpy as np
import pytest
import torch

from seg.evaluation.functional import (clicks_to_reach, farthest_interior_point,
                                       input_scale_of_masks, interactive_summary, next_click,
                                       simulate_clicks)

# An 8 x 10 image cut into three regions: A (rows 0-3, cols 0-4), B (rows 0-3, cols 5-9) and
# C (rows 4-7).
REGIONS = np.zeros((8, 10), dtype=np.int64)
REGIONS[:4, 5:] = 1
REGIONS[4:] = 2
A, B, C = (REGIONS == 0), (REGIONS == 1), (REGIONS == 2)


def region_predictor(answers):
    """A fake model: the mask it decodes for a click depends on the clicked region only."""
    def predict(points):
        return np.stack([answers[REGIONS[int(y), int(x)]] for x, y in points])
    return predict


def test_first_click_is_the_interior_point_farthest_from_the_boundary():
    # In A u B (rows 0-3, the image border is boundary) the farthest pixels (distance 2) are
    # rows 1-2 x cols 1-8; the one nearest their mean (4.5, 1.5) first in raster order: (4, 1).
    assert farthest_interior_point(A | B) == (4, 1)
    assert farthest_interior_point(B) == (7, 1)
    with pytest.raises(ValueError, match='non-empty'):
        farthest_interior_point(np.zeros((3, 3), dtype=bool))


def test_first_click_reproduces_the_reference_clicks():
    case = torch.load(Path(__file__).parents[2] / 'data' / 'reference_small' /
                      'prompt_case_small.pth', weights_only=True)
    for mask, expected in zip(case['point_source_masks'], case['point_xy']):
        assert farthest_interior_point(mask.numpy()) == tuple(expected.tolist())


def test_next_click_targets_the_largest_error_region():
    gt = A | B
    assert next_click(A, gt) == (7, 1, True)  # B is missed: positive click in it
    assert next_click(A | B | C, gt) == (4, 5, False)  # C is extra: negative click
    assert next_click(gt, gt) is None
    # Equal false-negative and false-positive areas: the false negative wins.
    assert next_click(B, A)[2] is True


def test_multi_click_protocol_gives_the_noc_computed_by_hand():
    # A model that decodes A u B for any click in A. Object "A u B": its first click (4, 1)
    # gives IoU 1 and it stops. Object "A": click (2, 1) gives A u B (IoU 20/40 = 0.5); the
    # false positive B gets a negative click at (7, 1), which decodes B: A u B minus B = A.
    predict = region_predictor({0: A | B, 1: B, 2: C})
    ious, clicks = simulate_clicks(predict, np.stack([A | B, A]), max_clicks=5, stop_iou=0.9)
    expected_1 = [0.5, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(ious[0], [1.0] * 5)
    np.testing.assert_allclose(ious[1], expected_1)
    assert clicks[0] == [(4, 1, True)]
    assert clicks[1] == [(2, 1, True), (7, 1, False)]
    # A model that decodes each region exactly. Object "A u B": click (4, 1) gives A (IoU
    # 0.5); the missed B gets a positive click at (7, 1), which adds B (IoU 1): NoC = 2.
    predict = region_predictor({0: A, 1: B, 2: C})
    ious, clicks = simulate_clicks(predict, np.stack([A | B]), max_clicks=5)
    np.testing.assert_allclose(ious[0], expected_1)
    assert clicks[0] == [(4, 1, True), (7, 1, True)]
    summary = interactive_summary(ious, miou_clicks=(1, 2, 5))
    assert summary['NoC@85'] == 2 and summary['NoC@90'] == 2 and summary['NoF@90'] == 0
    assert summary['mIoU@1'] == 0.5 and summary['mIoU@2'] == 1.0


def test_objects_never_reaching_the_threshold_count_max_clicks():
    predict = region_predictor({0: np.zeros_like(A), 1: np.zeros_like(A), 2: C})
    ious, clicks = simulate_clicks(predict, np.stack([A, C]), max_clicks=4)
    np.testing.assert_allclose(ious, [[0, 0, 0, 0], [1, 1, 1, 1]])
    assert len(clicks[0]) == 4 and len(clicks[1]) == 1
    summary = interactive_summary(ious)
    assert summary['NoC@90'] == (4 + 1) / 2 and summary['NoF@90'] == 1
    assert 'mIoU@5' not in summary  # only clicks that were run are reported


def test_noc_and_miou_at_k_from_iou_curves():
    ious = np.array([[0.5, 1.0, 1.0], [0.8, 0.86, 0.95]])
    assert clicks_to_reach(ious, 0.85).tolist() == [2, 2]
    assert clicks_to_reach(ious, 0.9).tolist() == [2, 3]
    summary = interactive_summary(ious, miou_clicks=(1, 3))
    assert summary['NoC@85'] == 2.0 and summary['NoC@90'] == 2.5
    assert summary['mIoU@1'] == pytest.approx(0.65) and summary['mIoU@3'] == pytest.approx(0.975)
    single = interactive_summary(ious[:, :1])
    assert set(single) == {'mIoU@1', 'num_objects'}


def test_click_coordinates_follow_the_gt_resolution():
    assert input_scale_of_masks((50, 80), (100, 160), (50, 80), (2.0, 2.0)) == ((2.0, 2.0),
                                                                               (50, 80))
    assert input_scale_of_masks((100, 160), (100, 160), (50, 80), (2.0, 2.0))[0] == (1.0, 1.0)
    with pytest.raises(ValueError, match='match neither'):
        input_scale_of_masks((7, 7), (100, 160), (50, 80))


def sequence_predictor(calls):
    """A fake multi-point model: the mask of a click sequence is the union of the regions of
    its positive clicks minus those of its negative clicks (it never forgets a click)."""
    def predict(sequences):
        calls.append([list(clicks) for clicks in sequences])
        masks = []
        for clicks in sequences:
            mask = np.zeros_like(A)
            for x, y, positive in clicks:
                region = REGIONS == REGIONS[int(y), int(x)]
                mask = (mask | region) if positive else (mask & ~region)
            masks.append(mask)
        return np.stack(masks)
    return predict


def test_multi_point_feedback_decodes_each_object_as_one_prompt_with_all_its_clicks():
    calls = []
    # Object A | B: the first click (farthest point, in A) gives A; the second click, in B,
    # is positive and the prompt then holds both: A | B.
    ious, clicks = simulate_clicks(sequence_predictor(calls), np.stack([A | B]), max_clicks=4,
                                   mode='multi_point')
    np.testing.assert_allclose(ious[0], [0.5, 1.0, 1.0, 1.0])  # stops once reached
    assert [len(sequence) for call in calls for sequence in call] == [1, 2]
    assert clicks[0] == [(4, 1, True), (7, 1, True)]
    calls.clear()
    target = A | C
    ious, clicks = simulate_clicks(sequence_predictor(calls), np.stack([target]), max_clicks=4,
                                   mode='multi_point')
    assert [len(call[0]) for call in calls] == list(range(1, len(clicks[0]) + 1))
    assert calls[-1][0] == clicks[0]  # the last prompt holds every click given so far
    assert ious[0, -1] == 1.0 and np.all(np.diff(ious[0]) >= 0)
    with pytest.raises(ValueError, match='mode'):
        simulate_clicks(sequence_predictor([]), np.stack([A]), mode='replace')


def test_multi_point_prompts_put_the_first_click_first_and_pad_the_rest():
    from seg.evaluation.click_protocol import multi_point_prompts
    prompts = multi_point_prompts([[(4, 2, True)], [(1, 1, True), (5, 6, False), (2, 2, True)]],
                                  scale=(2.0, 0.5))
    torch.testing.assert_close(prompts.boxes, torch.tensor([[8., 1., 8., 1.], [2., .5, 2., .5]]))
    assert prompts.is_point.all()
    torch.testing.assert_close(prompts.points, torch.tensor(
        [[[0., 0.], [0., 0.]], [[10., 3.], [4., 1.]]]))
    assert prompts.point_labels.tolist() == [[-1, -1], [0, 1]]
    with pytest.raises(ValueError, match='positive'):
        multi_point_prompts([[(1, 1, False)]])
