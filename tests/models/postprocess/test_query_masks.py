"""QueryMasks and the one-pass sweep: query masks resized on demand, whole or a band of rows
at a time, give the full resize; the rules only read the queries they select (what keeps
large images within memory) and every query mask is resized once for all the rules."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from seg.models.postprocess import (QueryPostprocessor, instance_postprocess,
                                    panoptic_postprocess, restore_mask_logits,
                                    semantic_postprocess)
from seg.models.postprocess.panoptic import PanopticRule
from seg.models.postprocess.query_masks import QueryMasks
from seg.models.postprocess.query_sweep import sweep_queries
from seg.models.postprocess.semantic import SemanticRule

INPUT, IMAGE, ORIGINAL = (32, 40), (30, 37), (61, 75)


def stride4_logits(queries=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(queries, 8, 10, generator=generator) * 4


def full_resize(logits, original=ORIGINAL):
    padded = F.interpolate(logits[None], size=INPUT, mode='bilinear', align_corners=False)[0]
    return restore_mask_logits(padded, IMAGE, original)


@pytest.mark.parametrize('original', [None, IMAGE, ORIGINAL, (17, 23)])
def test_bands_of_rows_equal_the_full_resize(original):
    """Without a second resize (output = img_shape) the bands are bit-identical to the whole
    resize; with one (up or down) equal to float rounding."""
    logits = stride4_logits()
    masks = QueryMasks(logits, INPUT, IMAGE, original)
    expected = full_resize(logits, original)
    assert masks.shape == (6,) + (original or IMAGE)
    height = expected.shape[1]
    selected = logits[[0, 2, 5]]
    for band in (1, 3, 7, height):
        got = torch.cat([masks.rows(selected, start, min(start + band, height))
                         for start in range(0, height, band)], dim=1)
        assert got.shape == expected[[0, 2, 5]].shape
        if original in (None, IMAGE):
            assert torch.equal(got, expected[[0, 2, 5]])
        else:
            torch.testing.assert_close(got, expected[[0, 2, 5]], rtol=1e-5, atol=1e-5)


def test_bands_without_an_exact_factor_or_at_the_input_size():
    logits = stride4_logits()
    padded = F.interpolate(logits[None], size=INPUT, mode='bilinear', align_corners=False)[0]
    at_input = QueryMasks(padded, INPUT, IMAGE, None)
    assert torch.equal(at_input.rows(padded, 0, IMAGE[0]), padded[:, :IMAGE[0], :IMAGE[1]])
    assert torch.equal(at_input.rows(padded, 5, 11), padded[:, 5:11, :IMAGE[1]])
    odd_input = (35, 41)  # not 4 x the logits: whole masks resized, then the rows taken
    odd = QueryMasks(logits, odd_input, IMAGE, None)
    expected = F.interpolate(logits[None], size=odd_input, mode='bilinear',
                             align_corners=False)[0, :, :IMAGE[0], :IMAGE[1]]
    assert torch.equal(odd.rows(logits, 3, 9), expected[:, 3:9])


def _count_reads(monkeypatch):
    reads = []
    plain = QueryMasks.rows

    def counting(self, logits, start, stop):
        reads.append((len(logits), start, stop))
        return plain(self, logits, start, stop)

    monkeypatch.setattr(QueryMasks, 'rows', counting)
    return reads


def test_the_rules_read_only_the_queries_they_use(monkeypatch):
    logits = stride4_logits()
    mask_cls = torch.full((6, 4), -10.0)
    mask_cls[[0, 2], 0] = 10.0  # two thing queries kept; the others predict no object
    mask_cls[[1, 3, 4, 5], 3] = 10.0
    masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL)
    reads = _count_reads(monkeypatch)
    panoptic = panoptic_postprocess(mask_cls, masks, 2, 1, object_mask_thr=0.5, iou_thr=0.0)
    assert {queries for queries, _, _ in reads} == {2}
    assert torch.equal(panoptic, panoptic_postprocess(mask_cls, full_resize(logits), 2, 1,
                                                      object_mask_thr=0.5, iou_thr=0.0))
    reads.clear()
    instances = instance_postprocess(mask_cls, masks, 2, max_per_image=3)
    expected = instance_postprocess(mask_cls, full_resize(logits), 2, max_per_image=3)
    assert max(queries for queries, _, _ in reads) <= 3
    assert torch.equal(instances.masks, expected.masks)
    torch.testing.assert_close(instances.scores, expected.scores, rtol=1e-6, atol=1e-7)


def test_the_semantic_rule_takes_the_rows_band_by_band(monkeypatch):
    logits = stride4_logits(queries=7)
    mask_cls = torch.randn(7, 5, generator=torch.Generator().manual_seed(1)) * 3
    masks = QueryMasks(logits, INPUT, IMAGE, ORIGINAL)
    reads = _count_reads(monkeypatch)
    got = sweep_queries(masks, [SemanticRule(mask_cls, masks.shape[-2:])],
                        band_elements=7 * ORIGINAL[1] * 10)[0]  # 8 rows
    assert [(start, stop) for _, start, stop in reads] == [(0, 8), (8, 16), (16, 24), (24, 32),
                                                           (32, 40), (40, 48), (48, 56),
                                                           (56, 61)]
    expected = semantic_postprocess(mask_cls, full_resize(logits))
    # The second resize is equal to float rounding only: ties aside, the same classes.
    assert (got != expected).float().mean() < 1e-3


def test_pixel_owners_do_not_depend_on_the_banding_even_on_ties():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(10, 6, 7, generator=generator).round()  # many equal values
    mask_cls = torch.randn(10, 4, generator=generator)
    mask_cls[:, :3] += 5  # every query kept, scores with ties among the ten
    mask_cls[5:, :3] = mask_cls[:5, :3]

    def owners(band_elements):
        rule = PanopticRule(mask_cls, (6, 7), 2, 1, object_mask_thr=0.0)
        sweep_queries(logits, [rule], band_elements=band_elements)
        return rule.owner, rule.owner_prob, rule.mask_area

    expected = owners(10 ** 6)
    for band_elements in (1, 70, 150):
        for got, want in zip(owners(band_elements), expected):
            assert torch.equal(got, want)
    scores = torch.softmax(mask_cls, -1).max(-1).values
    whole = (scores.view(-1, 1, 1) * logits.sigmoid()).max(0).indices  # the unbanded rule
    assert torch.equal(expected[0], whole)


def test_the_postprocessor_resizes_each_query_once_for_all_rules(monkeypatch):
    """Panoptic (every query kept), instance and semantic together: every band of every
    query resized once, and the same results as each rule run alone on the resized masks."""
    logits = stride4_logits(queries=7)
    mask_cls = torch.randn(1, 7, 5, generator=torch.Generator().manual_seed(3)) * 3
    mask_cls[..., -1] = -20  # no query predicts no-object: the panoptic rule keeps all
    sample = BaseDataElement(metainfo=dict(img_shape=IMAGE, ori_shape=ORIGINAL,
                                           batch_input_shape=INPUT))
    postprocessor = QueryPostprocessor(dict(panoptic_on=True, instance_on=True,
                                            semantic_on=True, object_mask_thr=0.0,
                                            max_per_image=5))
    reads = _count_reads(monkeypatch)
    result = postprocessor.predict(mask_cls, logits[None], [sample], num_things=2)[0]
    assert sum((stop - start) * queries for queries, start, stop in reads) == 7 * ORIGINAL[0]
    full = QueryMasks(logits, INPUT, IMAGE, ORIGINAL).rows(logits, 0, ORIGINAL[0])
    assert torch.equal(result['panoptic'].sem_seg[0],
                       panoptic_postprocess(mask_cls[0], full, 2, 2, object_mask_thr=0.0))
    assert torch.equal(result['semantic'].sem_seg[0], semantic_postprocess(mask_cls[0], full))
    expected = instance_postprocess(mask_cls[0], full, 2, max_per_image=5)
    assert len(expected) > 0
    for key in ('masks', 'labels', 'bboxes'):
        assert torch.equal(result['instances'].get(key), expected.get(key))
    torch.testing.assert_close(result['instances'].scores, expected.scores, rtol=1e-6,
                               atol=1e-7)
