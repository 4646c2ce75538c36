"""Semantic post-processing and the mask helpers (boxes, crop/resize, input checks)."""
import math

import pytest
import torch

from seg.models.postprocess import restore_mask_logits, semantic_postprocess


def logits_from_probs(rows):
    return torch.tensor([[math.log(p) for p in row] for row in rows])


def test_semantic_map_is_argmax_of_class_weighted_mask_probabilities():
    mask_cls = logits_from_probs([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.05, 0.9, 0.05]])
    mask_pred = torch.full((3, 1, 3), -10.0)
    # Pixel 0: two class-0 queries at 0.4 each outweigh one class-1 query at 0.7, although
    # the single most confident query there is the class-1 one.
    mask_pred[0, 0, 0] = mask_pred[1, 0, 0] = math.log(0.4 / 0.6)
    mask_pred[2, 0, 0] = math.log(0.7 / 0.3)
    mask_pred[2, 0, 2] = 10.0   # pixel 2: only class 1
    mask_pred[0, 0, 1] = 10.0   # pixel 1: only class 0
    semantic = semantic_postprocess(mask_cls, mask_pred)
    assert semantic.dtype == torch.int64 and semantic.shape == (1, 3)
    assert semantic.tolist() == [[0, 0, 1]]


def test_semantic_map_ignores_the_no_object_column():
    # Most probability on no-object, still the best real class is chosen.
    mask_cls = logits_from_probs([[0.1, 0.2, 0.7]])
    semantic = semantic_postprocess(mask_cls, torch.zeros(1, 2, 2))
    assert bool((semantic == 1).all())


def test_restore_mask_logits_crops_padding_then_resizes():
    logits = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(2, 4, 6)
    assert torch.equal(restore_mask_logits(logits, (3, 5)), logits[:, :3, :5])
    # Resizing to the cropped size itself is the identity.
    assert torch.equal(restore_mask_logits(logits, (3, 5), (3, 5)), logits[:, :3, :5])
    resized = restore_mask_logits(logits, (2, 2), (4, 4))
    assert resized.shape == (2, 4, 4)
    # Bilinear with align_corners=False: the top-left output pixel is the top-left input.
    assert resized[0, 0, 0].item() == logits[0, 0, 0].item()


def test_restore_mask_logits_rejects_img_shape_larger_than_the_logits():
    with pytest.raises(ValueError, match='img_shape'):
        restore_mask_logits(torch.zeros(1, 4, 4), (5, 4))
