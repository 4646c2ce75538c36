"""Open-vocabulary fusion: the closed-form ensemble and the reference's open_voc_inference.

Reference data: tests/data/reference_small/openvoc_case_small.pth (see
tools/reference_generators/make_prompt_openvoc_reference.py) with the image features and
decoder mask logits of head_case_small.pth.
"""
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seg.models.postprocess import OpenVocabFusion, clip_mask_logits, geometric_ensemble
from seg.registry import MODELS

REFERENCE_DIR = Path(__file__).parents[2] / 'data' / 'reference_small'


def closed_form(query_logits, clip_logits, valid, seen, alpha, beta):
    """The reference's formula written out in float64 numpy, one query at a time."""
    out = np.zeros_like(query_logits, dtype=np.float64)
    for q in range(query_logits.shape[0]):
        logits = query_logits[q].astype(np.float64)
        p_query = np.exp(logits[:-1]) / np.exp(logits[:-1]).sum()
        p_clip = np.exp(clip_logits[q, :-1]) / np.exp(clip_logits[q, :-1]).sum()
        exponent = np.where(seen, alpha, beta) * valid[q]
        fused = np.log(p_query ** (1 - exponent) * p_clip ** exponent)
        fused = np.exp(fused) / np.exp(fused).sum()
        p_void = np.exp(logits[-1]) / np.exp(logits).sum()
        out[q] = np.log(np.append(fused * (1 - p_void), p_void) + 1e-8)
    return out


def test_ensemble_matches_closed_form_on_fixed_logits():
    query = np.array([[2.0, 0.5, -1.0, 0.0], [0.3, 1.2, 0.7, 0.0], [-1.0, 3.0, 1.0, 0.0]])
    clip = np.array([[0.0, 2.0, 1.0, 0.0], [1.5, -0.5, 0.5, 0.0], [2.0, 2.0, -2.0, 0.0]])
    valid = np.array([1.0, 1.0, 0.0])
    seen = np.array([True, False, True])
    ours = geometric_ensemble(torch.tensor(query, dtype=torch.float32),
                              torch.tensor(clip, dtype=torch.float32),
                              torch.tensor(valid), torch.tensor(seen), alpha=0.4, beta=0.8)
    np.testing.assert_allclose(ours.numpy(), closed_form(query, clip, valid, seen, 0.4, 0.8),
                               atol=1e-5)
    # An empty mask (valid 0) keeps the decoder's probabilities.
    np.testing.assert_allclose(ours[2].exp().numpy(),
                               np.exp(query[2]) / np.exp(query[2]).sum(), atol=1e-6)


def test_ensemble_survives_underflowing_probabilities():
    """The reference multiplies log(0) = -inf by the 0/1 flags and gets NaN; we do not."""
    query = torch.tensor([[200.0, -200.0, 0.0]])
    clip = torch.tensor([[-200.0, 200.0, 0.0]])
    out = geometric_ensemble(query, clip, torch.ones(1), torch.tensor([True, False]))
    assert torch.isfinite(out).all()
    assert math.isclose(float(out.exp().sum()), 1.0, abs_tol=1e-5)


@pytest.fixture(scope='module')
def openvoc_case():
    return torch.load(REFERENCE_DIR / 'openvoc_case_small.pth', weights_only=True)


@pytest.fixture(scope='module')
def clip_backbone(openvoc_case):
    """The case's backbone; only its CLIP head (and norm_pre) matter here."""
    case = torch.load(REFERENCE_DIR / 'backbone_case.pth', weights_only=True)
    backbone = MODELS.build(dict(type='OpenCLIPBackbone', model_name=case['model_name'],
                                 model_cfg=case['open_clip_model_cfg'],
                                 trunk_cfg=case['trunk_cfg']))
    missing = backbone.load_state_dict(openvoc_case['clip_head_state_dict'], strict=False)
    assert not missing.unexpected_keys
    return backbone


def upsample(mask_logits, size=(128, 160)):
    """head.predict's upsampling of the last mask logits to the padded input size."""
    if mask_logits.dim() == 5:
        queries = mask_logits.shape[1]
        return F.interpolate(mask_logits.flatten(1, 2), size=size, mode='bilinear',
                             align_corners=False).unflatten(1, (queries, -1))
    return F.interpolate(mask_logits, size=size, mode='bilinear', align_corners=False)


def test_open_vocab_inference_matches_reference(openvoc_case, clip_backbone,
                                                reference_case_head, reference_head_case):
    fusion = OpenVocabFusion(seen_flags=openvoc_case['overlapping'])
    classes = ['a', 'b', 'c', 'd', 'e']
    stage4 = reference_head_case['image_feats'][3]
    mask_pred = upsample(reference_head_case['image_mask_pred'][1])
    with torch.no_grad():
        clip = clip_mask_logits(clip_backbone, reference_case_head.text_classifier, stage4,
                                mask_pred)
        fused = fusion(clip_backbone, reference_case_head.text_classifier, classes, stage4,
                       openvoc_case['input_mask_cls_results'], mask_pred)
    torch.testing.assert_close(clip['pooled'], openvoc_case['clip_pooled_feat'],
                               atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(clip['embedding'], openvoc_case['clip_embedding'],
                               atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(clip['logits'], openvoc_case['clip_logit'], atol=2e-3, rtol=1e-4)
    assert torch.equal(clip['valid'], openvoc_case['valid_masking'])
    torch.testing.assert_close(fused, openvoc_case['open_voc_cls_results'], atol=2e-3, rtol=1e-4)

    # A query whose mask is empty at CLIP resolution keeps the decoder's classes.
    emptied = mask_pred.clone()
    emptied[:, 0] = -(emptied[:, 0].abs() + 1)
    with torch.no_grad():
        forced = fusion(clip_backbone, reference_case_head.text_classifier, classes, stage4,
                        openvoc_case['input_mask_cls_results'], emptied)
    torch.testing.assert_close(forced, openvoc_case['extra_forced_invalid_query0_cls_results'],
                               atol=2e-3, rtol=1e-4)


def test_open_vocab_inference_on_a_clip_matches_reference(openvoc_case, clip_backbone,
                                                          reference_case_head,
                                                          reference_head_case):
    fusion = OpenVocabFusion(seen_flags=openvoc_case['overlapping'])
    mask_pred = upsample(reference_head_case['video_mask_pred'][1])  # (1, 12, 2, H, W)
    with torch.no_grad():
        fused = fusion(clip_backbone, reference_case_head.text_classifier, list('abcde'),
                       openvoc_case['video_stage4'],
                       openvoc_case['video_input_mask_cls_results'], mask_pred, num_frames=2)
    torch.testing.assert_close(fused, openvoc_case['video_open_voc_cls_results'],
                               atol=2e-3, rtol=1e-4)


def test_fusion_config_switch_and_flags_follow_the_vocabulary():
    assert OpenVocabFusion.from_config(None) is None
    assert OpenVocabFusion.from_config(dict(enabled=False, seen_flags=[1])) is None
    fusion = OpenVocabFusion.from_config(dict(seen_vocabularies=[
        dict(thing_classes=['person,man', 'car'], stuff_classes=['sky'], name='train')]))
    assert fusion.seen_flags(['Man', 'dog', 'Sky , heaven']).tolist() == [True, False, True]
    fixed = OpenVocabFusion(seen_flags=[1, 0])
    with pytest.raises(ValueError, match='seen_flags has 2 entries'):
        fixed.seen_flags(['a', 'b', 'c'])
    with pytest.raises(KeyError, match='unknown open_vocab keys'):
        OpenVocabFusion.from_config(dict(alpa=0.3))
    with pytest.raises(ValueError, match='exactly one of'):
        OpenVocabFusion()
