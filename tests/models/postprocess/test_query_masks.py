"""QueryMasks: query masks resized on demand give exactly the full resize, and the rules only
resize the queries they select (what keeps large images within memory)."""
import torch
import torch.nn.functional as F

from seg.models.postprocess import (instance_postprocess, panoptic_postprocess,
                                    restore_mask_logits, semantic_postprocess)
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


def test_the_semantic_rule_takes_the_queries_chunk_by_chunk():
    logits = stride4_logits(queries=7)
    mask_cls = torch.randn(7, 5, generator=torch.Generator().manual_seed(1)) * 3
    masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL, chunk=3)
    assert [window.start for window, _ in masks.chunks()] == [0, 3, 6]
    expected = semantic_postprocess(mask_cls, full_resize(logits))
    got = semantic_postprocess(mask_cls, masks)
    # Summing the queries in chunks changes float rounding only: ties aside, the same classes.
    assert (got != expected).float().mean() < 1e-3


def test_pixel_owners_do_not_depend_on_the_chunking_even_on_ties():
    from seg.models.postprocess.panoptic import _pixel_owners
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(10, 6, 7, generator=generator).round()  # many equal values
    scores = torch.tensor([0.5, 0.9, 0.5, 0.9, 0.7, 0.5, 0.9, 0.7, 0.5, 0.9])
    kept = torch.arange(10)
    expected = _pixel_owners(logits, kept, scores, chunk=100)
    for chunk in (1, 3, 4):
        for got, want in zip(_pixel_owners(logits, kept, scores, chunk=chunk), expected):
            assert torch.equal(got, want)
    whole = (scores.view(-1, 1, 1) * logits.sigmoid()).max(0).indices  # the unchunked rule
    assert torch.equal(expected[0], whole)
