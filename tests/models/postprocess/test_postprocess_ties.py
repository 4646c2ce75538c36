"""Ties in the per-pixel maxima go to the lowest index (Mask2Former's argmax rule)."""
import torch

from seg.models.postprocess import panoptic_postprocess, semantic_postprocess


def test_semantic_tie_between_classes_goes_to_the_first():
    mask_cls = torch.tensor([[2.0, 2.0, 0.0, -5.0]])  # classes 0 and 1 tie everywhere
    mask_pred = torch.randn(1, 9, 11, generator=torch.Generator().manual_seed(0))
    assert torch.equal(semantic_postprocess(mask_cls, mask_pred),
                       torch.zeros(9, 11, dtype=torch.long))


def test_panoptic_tie_between_queries_goes_to_the_first():
    # Two identical stuff queries of different classes: every pixel is owned by query 0.
    mask_cls = torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0]])
    mask_pred = torch.full((2, 6, 7), 4.0)
    panoptic = panoptic_postprocess(mask_cls, mask_pred, num_things_classes=0,
                                    num_stuff_classes=2, object_mask_thr=0.5, iou_thr=0.8)
    assert torch.equal(panoptic, torch.zeros(6, 7, dtype=torch.int32))
