"""FFN, MultiheadAttention and the encoder/decoder layers: names, semantics, reference values.

``pixel_decoder_transformer_layers.pth`` holds tensors copied from
/work/shared/reference_outputs/case_small (feat_channels 64, 4 heads, FFN 128): the weights of
transformer-decoder layers 0-1, the learned queries and level embeddings, the pixel-decoder
memories of levels 0-1, the boolean cross-attention masks each layer received and each layer's
output, for the semantic path and for layer 0 of the prompt path (with its self-attn mask).
"""
from pathlib import Path

import pytest
import torch

from seg.models.layers import (FFN, DeformableDetrTransformerEncoder,
                               Mask2FormerTransformerDecoder, Mask2FormerTransformerDecoderLayer,
                               MultiheadAttention, SinePositionalEncoding3D)

DATA = Path(__file__).parents[2] / 'data' / 'reference_small' / \
    'pixel_decoder_transformer_layers.pth'
NUM_HEADS = 4


def _layer_cfg(embed_dims=64, num_heads=NUM_HEADS, feedforward_channels=128):
    attn = dict(embed_dims=embed_dims, num_heads=num_heads, dropout=0.0, batch_first=True)
    return dict(self_attn_cfg=attn, cross_attn_cfg=dict(attn),
                ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=feedforward_channels,
                             num_fcs=2, ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True)))


@pytest.fixture(scope='module')
def reference():
    return torch.load(DATA, weights_only=True)


def test_ffn_names_and_residual():
    ffn = FFN(embed_dims=6, feedforward_channels=10)
    assert {k: tuple(v.shape) for k, v in ffn.state_dict().items()} == {
        'layers.0.0.weight': (10, 6), 'layers.0.0.bias': (10,),
        'layers.1.weight': (6, 10), 'layers.1.bias': (6,)}
    x = torch.randn(2, 3, 6)
    hidden = torch.relu(x @ ffn.layers[0][0].weight.T + ffn.layers[0][0].bias)
    branch = hidden @ ffn.layers[1].weight.T + ffn.layers[1].bias
    torch.testing.assert_close(ffn(x), x + branch)
    identity = torch.randn(2, 3, 6)
    torch.testing.assert_close(ffn(x, identity=identity), identity + branch)
    no_residual = FFN(embed_dims=6, feedforward_channels=10, add_identity=False)
    no_residual.load_state_dict(ffn.state_dict())
    torch.testing.assert_close(no_residual(x), branch)

    deeper = FFN(embed_dims=6, feedforward_channels=10, num_fcs=3,
                 act_cfg=dict(type='GELU'))
    assert set(deeper.state_dict()) == {'layers.0.0.weight', 'layers.0.0.bias',
                                        'layers.1.0.weight', 'layers.1.0.bias',
                                        'layers.2.weight', 'layers.2.bias'}
    with pytest.raises(KeyError, match='Swish'):
        FFN(6, 10, act_cfg=dict(type='Swish'))


def test_multihead_attention_names_masks_and_positional_codes():
    torch.manual_seed(0)
    attn = MultiheadAttention(embed_dims=8, num_heads=2)
    assert set(attn.state_dict()) == {'attn.in_proj_weight', 'attn.in_proj_bias',
                                      'attn.out_proj.weight', 'attn.out_proj.bias'}
    query, query_pos = torch.randn(2, 1, 3, 8).unbind(0)
    key, key_pos = torch.randn(2, 1, 5, 8).unbind(0)
    # every query may only see key 2 (bool mask, True = blocked)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[:, 2] = False
    out = attn(query, key=key, value=key, query_pos=query_pos, key_pos=key_pos, attn_mask=mask)
    w_v = attn.attn.in_proj_weight[16:]
    b_v = attn.attn.in_proj_bias[16:]
    # the value carries no positional code; identity is the query without query_pos
    seen = (key[0, 2] @ w_v.T + b_v) @ attn.attn.out_proj.weight.T + attn.attn.out_proj.bias
    torch.testing.assert_close(out[0], query[0] + seen.expand(3, -1))

    # a per-head (B * heads, Q, K) mask: head 0 sees key 1 only, head 1 sees key 4 only
    per_head = torch.ones(2, 3, 5, dtype=torch.bool)
    per_head[0, :, 1] = False
    per_head[1, :, 4] = False
    out = attn(query, key=key, value=key, attn_mask=per_head)
    values = key[0] @ w_v.T + b_v
    mixed = torch.cat([values[1, :4], values[4, 4:]])  # head dims 4 each
    expected = mixed @ attn.attn.out_proj.weight.T + attn.attn.out_proj.bias
    torch.testing.assert_close(out[0], query[0] + expected.expand(3, -1))


def test_multihead_attention_key_pos_defaults_to_query_pos_for_self_attention():
    torch.manual_seed(0)
    attn = MultiheadAttention(embed_dims=8, num_heads=2)
    query, pos = torch.randn(2, 2, 4, 8).unbind(0)
    torch.testing.assert_close(attn(query, query_pos=pos),
                               attn(query, key=query, value=query, query_pos=pos, key_pos=pos))
    seq_first = MultiheadAttention(embed_dims=8, num_heads=2, batch_first=False)
    seq_first.load_state_dict(attn.state_dict())
    torch.testing.assert_close(
        seq_first(query.transpose(0, 1), query_pos=pos.transpose(0, 1)).transpose(0, 1),
        attn(query, query_pos=pos))


def _decoder_inputs(reference, level):
    memory = reference['memorys'][level]  # (B, C, h, w)
    tokens = memory.flatten(2).transpose(1, 2) + reference['level_embed'][level]
    batch, _, height, width = memory.shape
    position = SinePositionalEncoding3D(num_feats=32, normalize=True)(
        torch.zeros(batch, 1, height, width, dtype=torch.bool))
    return tokens, position.flatten(3).squeeze(1).transpose(1, 2)


def _heads(mask):
    return mask.unsqueeze(1).expand(-1, NUM_HEADS, -1, -1).flatten(0, 1)


def test_decoder_matches_reference_state_dict_names(reference):
    decoder = Mask2FormerTransformerDecoder(num_layers=2, layer_cfg=_layer_cfg(),
                                            post_norm_cfg=dict(type='LN'))
    expected = {k: tuple(v.shape) for k, v in reference['layer_weights'].items()}
    expected.update({'post_norm.weight': (64,), 'post_norm.bias': (64,)})
    assert {k: tuple(v.shape) for k, v in decoder.state_dict().items()} == expected


def test_decoder_layers_reproduce_reference_semantic_path(reference):
    decoder = Mask2FormerTransformerDecoder(num_layers=2, layer_cfg=_layer_cfg())
    decoder.load_state_dict(reference['layer_weights'], strict=False)
    decoder.eval()
    batch = reference['memorys'][0].shape[0]
    query = reference['query_feat'].expand(batch, -1, -1)
    query_pos = reference['query_embed'].expand(batch, -1, -1)
    for index, layer in enumerate(decoder.layers):
        tokens, position = _decoder_inputs(reference, index)
        with torch.no_grad():
            query = layer(query=query, key=tokens, value=tokens, query_pos=query_pos,
                          key_pos=position,
                          cross_attn_mask=_heads(reference['semantic_cross_attn_masks'][index]))
        torch.testing.assert_close(query, reference['semantic_layer_outputs'][index],
                                   atol=1e-5, rtol=1e-5)


def test_decoder_layer_reproduces_reference_prompt_path_with_self_attn_mask(reference):
    layer = Mask2FormerTransformerDecoderLayer(**_layer_cfg()).eval()
    layer.load_state_dict({k[len('layers.0.'):]: v for k, v in reference['layer_weights'].items()
                           if k.startswith('layers.0.')})
    tokens, position = _decoder_inputs(reference, 0)
    arguments = dict(query=reference['prompt_query_feat'], key=tokens, value=tokens,
                     query_pos=reference['prompt_query_embed'], key_pos=position,
                     cross_attn_mask=_heads(reference['prompt_cross_attn_mask']))
    with torch.no_grad():
        out = layer(self_attn_mask=reference['prompt_self_attn_mask'], **arguments)
        unmasked = layer(**arguments)
    torch.testing.assert_close(out, reference['prompt_layer0_output'], atol=1e-5, rtol=1e-5)
    assert (unmasked - out).abs().max() > 1e-3  # the self-attention mask matters here


def test_decoder_forward_stacks_post_normed_outputs():
    torch.manual_seed(0)
    decoder = Mask2FormerTransformerDecoder(num_layers=2, layer_cfg=_layer_cfg(16, 2, 32))
    query, query_pos = torch.randn(2, 1, 3, 16).unbind(0)
    key = torch.randn(1, 7, 16)
    stacked = decoder(query, key=key, value=key, query_pos=query_pos)
    assert stacked.shape == (2, 1, 3, 16)
    manual = query
    for index, layer in enumerate(decoder.layers):
        manual = layer(manual, key=key, value=key, query_pos=query_pos)
        torch.testing.assert_close(stacked[index], decoder.post_norm(manual))
    decoder.return_intermediate = False
    torch.testing.assert_close(decoder(query, key=key, value=key, query_pos=query_pos)[0],
                               stacked[-1])


def test_layers_reject_sequence_first_configs():
    cfg = _layer_cfg(16, 2, 32)
    cfg['cross_attn_cfg']['batch_first'] = False
    with pytest.raises(ValueError, match='cross_attn_cfg'):
        Mask2FormerTransformerDecoderLayer(**cfg)


def test_encoder_reference_points_follow_valid_ratios():
    shapes = torch.tensor([[2, 4], [1, 2]])
    full = DeformableDetrTransformerEncoder.get_encoder_reference_points(
        shapes, torch.ones(1, 2, 2))
    assert full.shape == (1, 10, 2, 2)
    expected_level0 = torch.tensor([[(x + 0.5) / 4, (y + 0.5) / 2]
                                    for y in range(2) for x in range(4)])
    torch.testing.assert_close(full[0, :8, 0], expected_level0)
    torch.testing.assert_close(full[0, :, 0], full[0, :, 1])  # same point for every level

    # level 0 valid in its left half: its centres are normalised by the valid width, then
    # rescaled to every level's own valid ratio
    ratios = torch.tensor([[[0.5, 1.0], [1.0, 1.0]]])
    points = DeformableDetrTransformerEncoder.get_encoder_reference_points(shapes, ratios)
    torch.testing.assert_close(points[0, 0], torch.tensor([[0.125, 0.25], [0.25, 0.25]]))
    torch.testing.assert_close(points[0, 8], torch.tensor([[0.125, 0.5], [0.25, 0.5]]))


def test_encoder_default_reference_points_and_layer_names():
    torch.manual_seed(0)
    encoder = DeformableDetrTransformerEncoder(num_layers=2, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=8, num_heads=2, num_levels=2, num_points=2, dropout=0.0),
        ffn_cfg=dict(embed_dims=8, feedforward_channels=16)))
    assert set(encoder.state_dict()) == {
        f'layers.{i}.{name}' for i in range(2) for name in (
            'self_attn.sampling_offsets.weight', 'self_attn.sampling_offsets.bias',
            'self_attn.attention_weights.weight', 'self_attn.attention_weights.bias',
            'self_attn.value_proj.weight', 'self_attn.value_proj.bias',
            'self_attn.output_proj.weight', 'self_attn.output_proj.bias',
            'ffn.layers.0.0.weight', 'ffn.layers.0.0.bias', 'ffn.layers.1.weight',
            'ffn.layers.1.bias', 'norms.0.weight', 'norms.0.bias', 'norms.1.weight',
            'norms.1.bias')}
    shapes = torch.tensor([[2, 3], [1, 2]])
    query, pos = torch.randn(2, 2, 8, 8).unbind(0)
    ratios = torch.ones(2, 2, 2)
    points = encoder.get_encoder_reference_points(shapes, ratios)
    out = encoder(query, query_pos=pos, key_padding_mask=None, spatial_shapes=shapes)
    torch.testing.assert_close(out, encoder(query, query_pos=pos, key_padding_mask=None,
                                            spatial_shapes=shapes, reference_points=points))
    assert out.shape == query.shape
    # post-norm: every output token is layer-normalised
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 8), atol=1e-5, rtol=0)


def test_decoder_layer_under_bf16_autocast():
    torch.manual_seed(0)
    layer = Mask2FormerTransformerDecoderLayer(**_layer_cfg(16, 2, 32))
    query, query_pos = torch.randn(2, 2, 3, 16).unbind(0)
    key, key_pos = torch.randn(2, 2, 7, 16).unbind(0)
    mask = torch.rand(4, 3, 7) > 0.5
    mask[..., 0] = False  # no fully blocked row
    arguments = dict(query=query, key=key, value=key, query_pos=query_pos, key_pos=key_pos,
                     cross_attn_mask=mask)
    expected = layer(**arguments)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got = layer(**arguments)
    torch.testing.assert_close(got.float(), expected, atol=0.1, rtol=0.05)


def test_containers_accept_only_empty_init_cfg():
    Mask2FormerTransformerDecoder(num_layers=1, layer_cfg=_layer_cfg(16, 2, 32), init_cfg=None)
    with pytest.raises(ValueError, match='init_cfg'):
        Mask2FormerTransformerDecoder(num_layers=1, layer_cfg=_layer_cfg(16, 2, 32),
                                      init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
