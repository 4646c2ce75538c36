"""MSDeformAttnPixelDecoder: reference equivalence, parameter layout, shapes, init, dtypes.

Reference data (copied from /work/shared/reference_outputs/case_small, the published code at
reduced size: feat_channels 64, 4 heads, 2 encoder layers, FFN 128, PE num_feats 32):
``pixel_decoder_weights.pth`` = the ``panoptic_head.pixel_decoder.*`` state dict;
``pixel_decoder_io.pth`` = image 1 of the image batch: backbone maps, the three multi-scale
memories and the mask features (every 2nd pixel, to keep the file small).
"""
from pathlib import Path

import pytest
import torch

from seg.models.pixel_decoders import MSDeformAttnPixelDecoder
from seg.registry import MODELS

DATA = Path(__file__).parents[2] / 'data' / 'reference_small'
SMALL_IN_CHANNELS = [40, 80, 160, 320]


def _encoder_cfg(embed_dims, num_heads, num_layers, feedforward_channels):
    return dict(num_layers=num_layers, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads, num_levels=3,
                           num_points=4, dropout=0.0, batch_first=True),
        ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=feedforward_channels,
                     num_fcs=2, ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True))))


def _small_decoder() -> MSDeformAttnPixelDecoder:
    """The case_small configuration."""
    return MSDeformAttnPixelDecoder(
        in_channels=SMALL_IN_CHANNELS, strides=[4, 8, 16, 32], feat_channels=64,
        out_channels=64, num_outs=3, norm_cfg=dict(type='GN', num_groups=32),
        act_cfg=dict(type='ReLU'), encoder=_encoder_cfg(64, 4, 2, 128),
        positional_encoding=dict(num_feats=32, normalize=True))


def _feats(batch, sizes, channels=SMALL_IN_CHANNELS):
    return [torch.randn(batch, c, h, w) for c, (h, w) in zip(channels, sizes)]


def test_matches_reference_outputs():
    decoder = _small_decoder().eval()
    decoder.load_state_dict(torch.load(DATA / 'pixel_decoder_weights.pth', weights_only=True))
    io = torch.load(DATA / 'pixel_decoder_io.pth', weights_only=True)
    with torch.no_grad():
        mask_features, memories = decoder(io['backbone_feats'])
    assert mask_features.shape == (1, 64, 32, 40)
    torch.testing.assert_close(mask_features[..., ::2, ::2],
                               io['mask_features_every_2nd_pixel'], atol=1e-5, rtol=1e-5)
    assert [tuple(m.shape) for m in memories] == [(1, 64, 4, 5), (1, 64, 8, 10), (1, 64, 16, 20)]
    for got, expected in zip(memories, io['multi_scale_memorys']):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_paper_size_parameters_match_reference_layout():
    decoder = MODELS.build(dict(
        type='MSDeformAttnPixelDecoder', in_channels=[192, 384, 768, 1536],
        strides=[4, 8, 16, 32], feat_channels=256, out_channels=256, num_outs=3,
        encoder=_encoder_cfg(256, 8, 6, 1024),
        positional_encoding=dict(num_feats=128, normalize=True)))
    expected = {}
    for i, channels in enumerate([1536, 768, 384]):
        expected.update({f'input_convs.{i}.conv.weight': (256, channels, 1, 1),
                         f'input_convs.{i}.conv.bias': (256,), f'input_convs.{i}.gn.weight': (256,),
                         f'input_convs.{i}.gn.bias': (256,)})
    for j in range(6):
        prefix = f'encoder.layers.{j}.'
        expected.update({
            prefix + 'self_attn.sampling_offsets.weight': (192, 256),
            prefix + 'self_attn.sampling_offsets.bias': (192,),
            prefix + 'self_attn.attention_weights.weight': (96, 256),
            prefix + 'self_attn.attention_weights.bias': (96,),
            prefix + 'self_attn.value_proj.weight': (256, 256),
            prefix + 'self_attn.value_proj.bias': (256,),
            prefix + 'self_attn.output_proj.weight': (256, 256),
            prefix + 'self_attn.output_proj.bias': (256,),
            prefix + 'ffn.layers.0.0.weight': (1024, 256), prefix + 'ffn.layers.0.0.bias': (1024,),
            prefix + 'ffn.layers.1.weight': (256, 1024), prefix + 'ffn.layers.1.bias': (256,),
            prefix + 'norms.0.weight': (256,), prefix + 'norms.0.bias': (256,),
            prefix + 'norms.1.weight': (256,), prefix + 'norms.1.bias': (256,)})
    expected.update({
        'level_encoding.weight': (3, 256), 'lateral_convs.0.conv.weight': (256, 192, 1, 1),
        'lateral_convs.0.gn.weight': (256,), 'lateral_convs.0.gn.bias': (256,),
        'output_convs.0.conv.weight': (256, 256, 3, 3), 'output_convs.0.gn.weight': (256,),
        'output_convs.0.gn.bias': (256,), 'mask_feature.weight': (256, 256, 1, 1),
        'mask_feature.bias': (256,)})
    assert {k: tuple(v.shape) for k, v in decoder.state_dict().items()} == expected
    assert sum(p.numel() for p in decoder.parameters()) == 5_790_144  # reference: ~5.79M

    feats = _feats(1, [(16, 16), (8, 8), (4, 4), (2, 2)], [192, 384, 768, 1536])
    with torch.no_grad():
        mask_features, memories = decoder(feats)
    assert mask_features.shape == (1, 256, 16, 16)
    assert [tuple(m.shape) for m in memories] == [(1, 256, 2, 2), (1, 256, 4, 4),
                                                  (1, 256, 8, 8)]


@pytest.mark.parametrize('sizes', [
    [(16, 24), (8, 12), (4, 6), (2, 3)],    # 64 x 96 input
    [(24, 16), (12, 8), (6, 4), (3, 2)],    # 96 x 64 input
    [(18, 25), (9, 12), (4, 6), (2, 3)],    # 72 x 100 input, not a multiple of 32
])
def test_output_shapes_for_any_input_size(sizes):
    decoder = _small_decoder().eval()
    with torch.no_grad():
        mask_features, memories = decoder(_feats(2, sizes))
    assert mask_features.shape == (2, 64) + sizes[0]
    assert [tuple(m.shape[-2:]) for m in memories] == [sizes[3], sizes[2], sizes[1]]
    assert all(m.shape[:2] == (2, 64) for m in memories)


def test_images_of_a_batch_are_decoded_independently():
    torch.manual_seed(0)
    decoder = _small_decoder().eval()
    feats = _feats(2, [(8, 12), (4, 6), (2, 3), (1, 2)])
    with torch.no_grad():
        batched, batched_memories = decoder(feats)
        single, single_memories = decoder([f[1:] for f in feats])
    torch.testing.assert_close(batched[1:], single, atol=1e-5, rtol=1e-5)
    for got, expected in zip(batched_memories, single_memories):
        torch.testing.assert_close(got[1:], expected, atol=1e-5, rtol=1e-5)


def test_init_follows_mmdet():
    torch.manual_seed(0)
    decoder = _small_decoder()
    for conv_module in decoder.input_convs:
        fan_in, fan_out = conv_module.conv.weight.shape[1], conv_module.conv.weight.shape[0]
        assert conv_module.conv.weight.abs().max() <= (6 / (fan_in + fan_out)) ** 0.5
        assert conv_module.conv.bias.abs().sum() == 0
        assert torch.all(conv_module.gn.weight == 1) and conv_module.gn.bias.abs().sum() == 0
    output_conv = decoder.output_convs[0].conv
    assert output_conv.bias is None
    assert output_conv.weight.abs().max() <= (3 / (64 * 9)) ** 0.5  # caffe2 xavier bound
    assert output_conv.weight.std() > 0.5 * (1 / (64 * 9)) ** 0.5
    assert decoder.mask_feature.bias.abs().sum() == 0
    assert 0.7 < decoder.level_encoding.weight.std() < 1.3
    layer = decoder.encoder.layers[0]
    torch.testing.assert_close(layer.ffn.layers[0][0].weight.std(),
                               torch.tensor((2 / (64 + 128)) ** 0.5), rtol=0.1, atol=0)
    assert layer.self_attn.attention_weights.weight.abs().sum() == 0
    assert layer.self_attn.sampling_offsets.weight.abs().sum() == 0
    assert layer.self_attn.sampling_offsets.bias.abs().max() == 4  # ring x num_points


def test_bf16_autocast_and_backward():
    torch.manual_seed(0)
    decoder = _small_decoder()
    feats = _feats(1, [(8, 8), (4, 4), (2, 2), (1, 1)])
    reference, _ = decoder(feats)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mask_features, memories = decoder(feats)
    assert torch.isfinite(mask_features).all()
    assert all(torch.isfinite(m).all() for m in memories)
    torch.testing.assert_close(mask_features.float(), reference, atol=0.15, rtol=0.05)

    (mask_features.float().square().mean() + sum(m.float().mean() for m in memories)).backward()
    # (level_encoding only reaches the output through the offset/weight projections, which
    # start at zero, so its first gradient is exactly zero, as in the reference.)
    for name in ('input_convs.0.conv.weight', 'encoder.layers.0.self_attn.sampling_offsets.weight',
                 'encoder.layers.1.ffn.layers.1.weight', 'lateral_convs.0.conv.weight',
                 'mask_feature.weight'):
        grad = dict(decoder.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_rejects_wrong_number_of_maps():
    decoder = _small_decoder()
    with pytest.raises(ValueError, match='expects 4 feature maps, got 3'):
        decoder(_feats(1, [(4, 4), (2, 2), (1, 1)], SMALL_IN_CHANNELS[1:]))
