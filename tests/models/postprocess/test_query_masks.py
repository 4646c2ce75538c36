"""QueryMasks and the one-pass sweep: query masks resized on demand give exactly the full
resize, the rules only resize the queries they select (what keeps large images within memory)
and each query is resized once for all the rules."""
import torch
import torch.nn.functional as F

from mmengine.structures import BaseDataElement

from seg.models.postprocess import (QueryPostprocessor, instance_postprocess,
                                    panoptic_postprocess, restore_mask_logits,
                                    semantic_postprocess)
from seg.models.postprocess.panoptic import PanopticRule
from seg.models.postprocess.query_masks import QueryMasks
from seg.models.postprocess.query_sweep import Workspace, sweep_queries
from seg.models.postprocess.semantic import SemanticRule

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
    # into reused buffers (what the sweep does): the same values, the buffers recycled
    workspace = Workspace()
    first = QueryMasks(logits, INPUT, IMAGE, ORIGINAL).resized(torch.tensor([4, 1]), workspace)
    assert torch.equal(first, expected[[4, 1]])
    second = QueryMasks(logits, INPUT, IMAGE, ORIGINAL).resized(torch.tensor([0, 5]), workspace)
    assert torch.equal(second, expected[[0, 5]])
    assert first.data_ptr() == second.data_ptr()


def test_the_rules_resize_only_the_queries_they_use():
    logits = stride4_logits()
    mask_cls = torch.full((6, 4), -10.0)
    mask_cls[[0, 2], 0] = 10.0  # two thing queries kept; the others predict no object
    mask_cls[[1, 3, 4, 5], 3] = 10.0
    masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL)
    resized = []
    plain = masks._resize
    masks._resize = lambda part, *args: resized.append(len(part)) or plain(part, *args)
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
    masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL)
    resized = []
    plain = masks._resize
    masks._resize = lambda part, *args: resized.append(len(part)) or plain(part, *args)
    got = sweep_queries(masks, [SemanticRule(mask_cls)], chunk=3)[0]
    assert resized == [3, 3, 1]
    expected = semantic_postprocess(mask_cls, full_resize(logits))
    # Summing the queries in chunks changes float rounding only: ties aside, the same classes.
    assert (got != expected).float().mean() < 1e-3


def test_pixel_owners_do_not_depend_on_the_chunking_even_on_ties():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(10, 6, 7, generator=generator).round()  # many equal values
    mask_cls = torch.randn(10, 4, generator=generator)
    mask_cls[:, :3] += 5  # every query kept, scores with ties among the ten
    mask_cls[5:, :3] = mask_cls[:5, :3]

    def owners(chunk):
        rule = PanopticRule(mask_cls, (6, 7), 2, 1, object_mask_thr=0.0)
        sweep_queries(logits, [rule], chunk=chunk)
        return rule.owner, rule.owner_prob, rule.mask_area

    expected = owners(100)
    for chunk in (1, 3, 4):
        for got, want in zip(owners(chunk), expected):
            assert torch.equal(got, want)
    scores = torch.softmax(mask_cls, -1).max(-1).values
    whole = (scores.view(-1, 1, 1) * logits.sigmoid()).max(0).indices  # the unchunked rule
    assert torch.equal(expected[0], whole)


def test_the_postprocessor_resizes_each_query_once_for_all_rules():
    """Panoptic (every query kept), instance and semantic together: one resize per query,
    and the same results as each rule run alone on the fully resized masks."""
    logits = stride4_logits(queries=7)
    mask_cls = torch.randn(1, 7, 5, generator=torch.Generator().manual_seed(3)) * 3
    mask_cls[..., -1] = -20  # no query predicts no-object: the panoptic rule keeps all
    sample = BaseDataElement(metainfo=dict(img_shape=IMAGE, ori_shape=ORIGINAL,
                                           batch_input_shape=INPUT))
    postprocessor = QueryPostprocessor(dict(panoptic_on=True, instance_on=True,
                                            semantic_on=True, object_mask_thr=0.0,
                                            max_per_image=5))
    resized = []
    plain = QueryMasks._resize

    def counting(self, part, *args):
        resized.append(len(part))
        return plain(self, part, *args)

    QueryMasks._resize = counting
    try:
        result = postprocessor.predict(mask_cls, logits[None], [sample], num_things=2)[0]
    finally:
        QueryMasks._resize = plain
    assert sum(resized) == 7
    full = full_resize(logits)
    assert torch.equal(result['panoptic'].sem_seg[0],
                       panoptic_postprocess(mask_cls[0], full, 2, 2, object_mask_thr=0.0))
    assert torch.equal(result['semantic'].sem_seg[0], semantic_postprocess(mask_cls[0], full))
    expected = instance_postprocess(mask_cls[0], full, 2, max_per_image=5)
    assert len(expected) > 0
    for key in ('masks', 'labels', 'scores', 'bboxes'):
        assert torch.equal(result['instances'].get(key), expected.get(key))
