"""QueryMasks: query masks resized on demand give exactly the full resize, and the rules only
resize the queries they select (what keeps large images within memory)."""
import torch
import torch.nn.functional as F

from seg.models.postprocess import (instance_postprocess, panoptic_postprocess,
                                    restore_mask_logits)
from seg.models.postprocess.query_masks import QueryMasks

INPUT, IMAGE, ORIGINAL = (32, 40), (30, 37), (61, 75)


def stride4_logits(queries=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(queries, 8, 10, generator=generator) * 4


def full_resize(logits):
    padded = F.interpolate(logits[None], size=INPUT, mode='bilinear', align_corners=False)[0]
    return restore_mask_logits(padded, IMAGE, ORIGINAL)


def test_selected_queries_equal_the_full_resize_in_any_chunking():
    logits = stride4_logits()
    expected = full_resize(logits)
    for chunk in (1, 4, 16):
        masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL, chunk=chunk)
        assert masks.shape == (6,) + ORIGINAL
        assert torch.equal(masks[torch.tensor([4, 1, 3])], expected[[4, 1, 3]])
        keep = torch.tensor([True, False, True, True, False, True])
        assert torch.equal(masks[keep], expected[keep])
        assert torch.equal(masks[:], expected)


def test_the_rules_resize_only_the_queries_they_use():
    logits = stride4_logits()
    mask_cls = torch.full((6, 4), -10.0)
    mask_cls[[0, 2], 0] = 10.0  # two thing queries kept; the others predict no object
    mask_cls[[1, 3, 4, 5], 3] = 10.0
    masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL)
    resized = []
    plain = masks._resize
    masks._resize = lambda part: resized.append(len(part)) or plain(part)
    panoptic = panoptic_postprocess(mask_cls, masks, 2, 1, object_mask_thr=0.5, iou_thr=0.0)
    assert sum(resized) == 2
    assert torch.equal(panoptic, panoptic_postprocess(mask_cls, full_resize(logits), 2, 1,
                                                      object_mask_thr=0.5, iou_thr=0.0))
    resized.clear()
    instances = instance_postprocess(mask_cls, masks, 2, max_per_image=3)
    expected = instance_postprocess(mask_cls, full_resize(logits), 2, max_per_image=3)
    assert sum(resized) <= 3
    assert torch.equal(instances.masks, expected.masks)
    assert torch.equal(instances.scores, expected.scores)


def test_masks_already_at_the_input_size_are_not_resized_again():
    padded = F.interpolate(stride4_logits()[None], size=INPUT, mode='bilinear',
                           align_corners=False)[0]
    masks = QueryMasks(padded, INPUT, IMAGE, None)
    assert torch.equal(masks[:], padded[:, :IMAGE[0], :IMAGE[1]])
