"""The mask decoder reproduces the reference implementation's outputs (reduced-size case).

Data: tests/data/reference_small/head_case_small.pth, extracted from
shared/reference_outputs/case_small (reference OMG-Seg code at feat_channels 64, 12 queries,
3 decoder layers, 5 classes): the head's weights with reference key names, the text
classifier, the backbone features of a 2-image batch, every prediction's class logits, first
and last mask logits, the cross-attention masks, and the same for a 2-frame clip.
"""
from pathlib import Path

import pytest
import torch

from seg.models.heads import OMGHead

DATA = Path(__file__).parents[2] / 'data' / 'reference_small' / 'head_case_small.pth'
CHANNELS = 64


def build_case_head() -> OMGHead:
    layer_attention = dict(embed_dims=CHANNELS, num_heads=4, dropout=0.0, batch_first=True)
    return OMGHead(
        in_channels=[40, 80, 160, 320], feat_channels=CHANNELS, out_channels=CHANNELS,
        num_things_classes=3, num_stuff_classes=2, num_queries=12,
        pixel_decoder=dict(
            type='MSDeformAttnPixelDecoder', num_outs=3,
            encoder=dict(num_layers=2, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=CHANNELS, num_heads=4, num_levels=3,
                                   num_points=4, dropout=0.0, batch_first=True),
                ffn_cfg=dict(embed_dims=CHANNELS, feedforward_channels=128, num_fcs=2,
                             ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True)))),
            positional_encoding=dict(num_feats=CHANNELS // 2, normalize=True)),
        positional_encoding=dict(num_feats=CHANNELS // 2, normalize=True),
        transformer_decoder=dict(num_layers=3, return_intermediate=True, layer_cfg=dict(
            self_attn_cfg=layer_attention, cross_attn_cfg=layer_attention,
            ffn_cfg=dict(embed_dims=CHANNELS, feedforward_channels=128, num_fcs=2,
                         ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True)))),
        clip_embed_dim=64, enable_prompt_queries=True,
        train_cfg=dict(num_points=64))


@pytest.fixture(scope='module')
def case():
    return torch.load(DATA, weights_only=False)


@pytest.fixture(scope='module')
def head(case):
    torch.manual_seed(0)
    model = build_case_head()
    missing, unexpected = model.load_state_dict(case['head_state_dict'], strict=True)
    assert not missing and not unexpected
    model.text_classifier.set_embeddings(case['text_classifier'])
    return model.eval()


def capture_cross_attention_masks(head):
    masks = []

    def hook(module, args, kwargs):
        masks.append(kwargs['cross_attn_mask'].detach().clone())

    handles = [layer.register_forward_pre_hook(hook, with_kwargs=True)
               for layer in head.transformer_decoder.layers]
    return masks, handles


def test_state_dict_keys_match_the_reference(case):
    model = build_case_head()
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    reference = {k: tuple(v.shape) for k, v in case['head_state_dict'].items()}
    assert ours == reference


def test_image_predictions_match_reference(case, head):
    masks, handles = capture_cross_attention_masks(head)
    with torch.no_grad():
        cls_preds, mask_preds, _ = head(case['image_feats'])
    for handle in handles:
        handle.remove()
    for ours, expected in zip(masks, case['image_cross_attn_masks']):
        # Ours is (B*heads, Q, keys); the reference stores one head per image.
        ours = ours.unflatten(0, (expected.shape[0], -1))[:, 0]
        assert torch.equal(ours, expected)
    assert len(cls_preds) == 4
    torch.testing.assert_close(torch.stack(cls_preds), case['image_cls_pred'],
                               atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(torch.stack([mask_preds[0], mask_preds[-1]]),
                               case['image_mask_pred'], atol=2e-4, rtol=1e-4)


def test_clip_predictions_match_reference(case, head, monkeypatch):
    mask_features, memories = case['video_pixel_decoder']
    monkeypatch.setattr(head.pixel_decoder, 'forward', lambda feats: (mask_features, memories))
    masks, handles = capture_cross_attention_masks(head)
    with torch.no_grad():
        cls_preds, mask_preds, _ = head([None] * 4, num_frames=2)
    for handle in handles:
        handle.remove()
    for ours, expected in zip(masks, case['video_cross_attn_masks']):
        ours = ours.unflatten(0, (expected.shape[0], -1))[:, 0]
        assert torch.equal(ours, expected)
    assert mask_preds[-1].shape == (1, 12, 2, 32, 40)
    torch.testing.assert_close(torch.stack(cls_preds), case['video_cls_pred'],
                               atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(torch.stack([mask_preds[0], mask_preds[-1]]),
                               case['video_mask_pred'], atol=2e-4, rtol=1e-4)
