"""Instance post-processing: top-k over (query, class) pairs, thing filter, mask scores, boxes."""
import math

import pytest
import torch

from seg.models.postprocess import instance_postprocess

NUM_THINGS = 2  # classes 0, 1 are things, class 2 is stuff; column 3 is no-object


def logits_from_probs(rows):
    return torch.tensor([[math.log(p) for p in row] for row in rows])


MASK_CLS = logits_from_probs([
    [0.6, 0.3, 0.05, 0.05],   # q0
    [0.1, 0.1, 0.7, 0.1],     # q1: best pair is a stuff class
    [0.2, 0.5, 0.1, 0.2],     # q2
])


def make_mask_pred():
    mask_pred = torch.full((3, 5, 6), -3.0)
    mask_pred[0, 1, 2] = 2.0
    mask_pred[0, 3, 4] = 1.0   # q0 mask: two pixels, box x 2..4, y 1..3
    mask_pred[1, :, :] = 4.0
    # q2 stays all negative: empty mask.
    return mask_pred


def test_top_pairs_keep_things_with_class_prob_times_mean_mask_prob():
    results = instance_postprocess(MASK_CLS, make_mask_pred(), NUM_THINGS, max_per_image=4)
    # Top 4 pairs: (q1, 2) 0.7, (q0, 0) 0.6, (q2, 1) 0.5, (q0, 1) 0.3; the stuff pair is dropped.
    assert results.labels.tolist() == [0, 1, 1]
    mean_inside = (torch.sigmoid(torch.tensor(2.0)) + torch.sigmoid(torch.tensor(1.0))) / 2
    expected_scores = torch.stack([0.6 * mean_inside, torch.tensor(0.0), 0.3 * mean_inside])
    torch.testing.assert_close(results.scores, expected_scores, atol=1e-5, rtol=0)
    assert results.masks.dtype == torch.bool and results.masks.shape == (3, 5, 6)
    assert torch.equal(results.masks[0], make_mask_pred()[0] > 0)
    assert torch.equal(results.masks[2], results.masks[0])
    assert not bool(results.masks[1].any())
    assert results.bboxes.tolist() == [[2.0, 1.0, 5.0, 4.0], [0.0] * 4, [2.0, 1.0, 5.0, 4.0]]


def test_max_per_image_above_query_class_pairs_keeps_every_thing_pair():
    results = instance_postprocess(MASK_CLS, make_mask_pred(), NUM_THINGS, max_per_image=100)
    assert len(results) == 3 * NUM_THINGS
    pairs = sorted(zip(results.labels.tolist(), results.scores.tolist()))
    assert [label for label, _ in pairs] == [0, 0, 0, 1, 1, 1]


def test_max_per_image_truncates_before_the_thing_filter():
    results = instance_postprocess(MASK_CLS, make_mask_pred(), NUM_THINGS, max_per_image=1)
    assert len(results) == 0
    assert results.masks.shape == (0, 5, 6) and results.bboxes.shape == (0, 4)


def test_invalid_max_per_image_is_rejected():
    with pytest.raises(ValueError, match='max_per_image'):
        instance_postprocess(MASK_CLS, make_mask_pred(), NUM_THINGS, max_per_image=0)
