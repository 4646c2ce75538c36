"""The mask decoder reproduces the reference implementation's outputs (reduced-size case).

Data: tests/data/reference_small/head_case_small.pth, extracted from
shared/reference_outputs/case_small (reference OMG-Seg code at feat_channels 64, 12 queries,
3 decoder layers, 5 classes): the head's weights with reference key names, the text
classifier, the backbone features of a 2-image batch, every prediction's class logits, first
and last mask logits, the cross-attention masks, and the same for a 2-frame clip.
"""
from contextlib import contextmanager

import pytest
import torch

from seg.models.heads import OMGHead, PromptEncoder

# Fixtures `reference_head_case` (the data file) and `reference_case_head` (the head built at the
# case's reduced size, loaded strictly with its weights and text classifier) come from
# tests/models/conftest.py.


@pytest.fixture(scope='module')
def case(reference_head_case):
    return reference_head_case


@pytest.fixture(scope='module')
def head(reference_case_head):
    return reference_case_head


def capture_cross_attention_masks(head):
    masks = []

    def hook(module, args, kwargs):
        masks.append(kwargs['cross_attn_mask'].detach().clone())

    handles = [layer.register_forward_pre_hook(hook, with_kwargs=True)
               for layer in head.transformer_decoder.layers]
    return masks, handles


def packed_class_logits(output):
    """Every prediction's class logits with the objectness appended (the reference's layout)."""
    return torch.stack([torch.cat([p.class_logits, p.objectness], dim=-1)
                        for p in output.predictions])


def test_state_dict_keys_match_the_reference(case, head, reference_case_prompt_encoder):
    ours = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    ours.update({k: tuple(v.shape)
                 for k, v in reference_case_prompt_encoder.state_dict().items()})
    reference = {k: tuple(v.shape) for k, v in case['head_state_dict'].items()}
    assert ours == reference


def test_image_predictions_match_reference(case, head):
    masks, handles = capture_cross_attention_masks(head)
    with torch.no_grad():
        output = head(case['image_feats'])
    mask_preds = [p.mask_logits for p in output.predictions]
    for handle in handles:
        handle.remove()
    for ours, expected in zip(masks, case['image_cross_attn_masks']):
        # Ours is (B, 1, Q, keys), shared by the heads; the reference stores one head per image.
        assert ours.shape[1] == 1
        ours = ours[:, 0]
        assert torch.equal(ours, expected)
    assert len(output.predictions) == 4
    torch.testing.assert_close(packed_class_logits(output), case['image_cls_pred'],
                               atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(torch.stack([mask_preds[0], mask_preds[-1]]),
                               case['image_mask_pred'], atol=2e-4, rtol=1e-4)


def test_clip_predictions_match_reference(case, head, monkeypatch):
    mask_features, memories = case['video_pixel_decoder']
    monkeypatch.setattr(head.pixel_decoder, 'forward', lambda feats: (mask_features, memories))
    masks, handles = capture_cross_attention_masks(head)
    with torch.no_grad():
        output = head([None] * 4, num_frames=2)
    mask_preds = [p.mask_logits for p in output.predictions]
    for handle in handles:
        handle.remove()
    for ours, expected in zip(masks, case['video_cross_attn_masks']):
        assert torch.equal(ours[:, 0], expected)
    assert mask_preds[-1].shape == (1, 12, 2, 32, 40)
    torch.testing.assert_close(packed_class_logits(output), case['video_cls_pred'],
                               atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(torch.stack([mask_preds[0], mask_preds[-1]]),
                               case['video_mask_pred'], atol=2e-4, rtol=1e-4)


def test_paper_size_head_has_the_reference_parameter_shapes():
    """ConvNeXt-L widths, 256 channels, 9 layers, 300 queries, D = 768 (the released model)."""
    feat = 256
    attention = dict(embed_dims=feat, num_heads=8, dropout=0.0, batch_first=True)
    head = OMGHead(
        in_channels=[192, 384, 768, 1536], feat_channels=feat, out_channels=feat,
        num_queries=300,
        pixel_decoder=dict(type='MSDeformAttnPixelDecoder', num_outs=3),
        transformer_decoder=dict(num_layers=9, return_intermediate=True, layer_cfg=dict(
            self_attn_cfg=attention, cross_attn_cfg=attention,
            ffn_cfg=dict(embed_dims=feat, feedforward_channels=2048, num_fcs=2))),
        clip_embed_dim=768)
    shapes = {key: tuple(value.shape) for key, value in head.state_dict().items()}
    shapes.update({key: tuple(value.shape)
                   for key, value in PromptEncoder(feat_channels=feat).state_dict().items()})
    expected = {
        'query_embed.weight': (300, 256), 'query_feat.weight': (300, 256),
        'level_embed.weight': (3, 256), 'mask_embed.4.weight': (256, 256),
        'iou_embed.4.weight': (1, 256), 'cls_proj.4.weight': (768, 256),
        'mask_pooling_proj.0.weight': (256,), 'mask_pooling_proj.1.weight': (256, 256),
        'mask_tokens.weight': (1, 256), 'pb_embedding.weight': (2, 256),
        'pos_linear.weight': (256, 512),
        'transformer_decoder.layers.8.self_attn.attn.in_proj_weight': (768, 256),
        'transformer_decoder.layers.8.cross_attn.attn.out_proj.weight': (256, 256),
        'transformer_decoder.layers.8.ffn.layers.0.0.weight': (2048, 256),
        'transformer_decoder.layers.8.ffn.layers.1.weight': (256, 2048),
        'transformer_decoder.post_norm.weight': (256,),
        'pixel_decoder.input_convs.0.conv.weight': (256, 1536, 1, 1),
        'pixel_decoder.encoder.layers.5.self_attn.sampling_offsets.weight': (192, 256),
        'pixel_decoder.encoder.layers.5.self_attn.attention_weights.weight': (96, 256),
        'pixel_decoder.lateral_convs.0.conv.weight': (256, 192, 1, 1),
        'pixel_decoder.mask_feature.weight': (256, 256, 1, 1),
    }
    for key, shape in expected.items():
        assert shapes[key] == shape, key
    assert not any('cls_embed' in key or 'logit_scale' in key for key in shapes)
    counts = {}
    for name, param in head.named_parameters():
        part = name.split('.')[0]
        counts[part] = counts.get(part, 0) + param.numel()
    assert counts['pixel_decoder'] == 5_790_144
    assert abs(counts['transformer_decoder'] - 14.21e6) < 0.01e6


@contextmanager
def _recorded_cross_attn_masks(head):
    masks = []
    handles = [layer.register_forward_pre_hook(
        lambda module, args, kwargs: masks.append(kwargs['cross_attn_mask']), with_kwargs=True)
        for layer in head.transformer_decoder.layers]
    try:
        yield masks
    finally:
        for handle in handles:
            handle.remove()


@pytest.mark.parametrize('clip', [False, True])
def test_inference_classifies_only_the_last_stage(case, head, clip):
    """``inference=True`` skips the intermediate stages' class / objectness heads and takes
    their attention masks from mask features resized to the memories' sizes instead of
    resizing stride-4 masks: the attention masks and the last prediction are unchanged."""
    if clip:
        kwargs = dict(feats=[None] * 4, num_frames=2, pixel_features=case['video_pixel_decoder'])
    else:
        kwargs = dict(feats=case['image_feats'])
    with torch.no_grad(), _recorded_cross_attn_masks(head) as full_masks:
        full = head(**kwargs)
    with torch.no_grad(), _recorded_cross_attn_masks(head) as fast_masks:
        fast = head(**kwargs, inference=True)
    assert len(fast_masks) == len(full_masks) == len(head.transformer_decoder.layers)
    for fast_mask, full_mask in zip(fast_masks, full_masks):
        assert torch.equal(fast_mask, full_mask)
    assert len(full.predictions) == len(head.transformer_decoder.layers) + 1
    assert len(fast.predictions) == 1
    for name in ('class_logits', 'objectness', 'mask_logits'):
        torch.testing.assert_close(getattr(fast.last, name), getattr(full.last, name),
                                   rtol=0, atol=0)
    torch.testing.assert_close(fast.query_feat, full.query_feat, rtol=0, atol=0)
