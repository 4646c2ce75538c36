"""Multi-scale deformable attention: sampling semantics, mmcv init, masks, dtypes, gradients."""
import math

import pytest
import torch

from seg.models.layers import MultiScaleDeformableAttention, multi_scale_deformable_attn


def _bilinear_zero_padded(image: torch.Tensor, x: float, y: float) -> torch.Tensor:
    """Sample (C, h, w) at normalised (x, y) with align_corners=False, zeros outside."""
    _, height, width = image.shape
    px, py = x * width - 0.5, y * height - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    out = torch.zeros(image.shape[0], dtype=image.dtype)
    for yy, wy in ((y0, 1 - (py - y0)), (y0 + 1, py - y0)):
        for xx, wx in ((x0, 1 - (px - x0)), (x0 + 1, px - x0)):
            if 0 <= yy < height and 0 <= xx < width:
                out += wy * wx * image[:, yy, xx]
    return out


def test_functional_matches_explicit_bilinear_sampling():
    torch.manual_seed(0)
    shapes = [(3, 4), (2, 3)]
    batch, queries, heads, dims, points = 2, 3, 2, 5, 2
    value = torch.randn(batch, sum(h * w for h, w in shapes), heads, dims, dtype=torch.float64)
    # some locations fall outside [0, 1] to exercise the zero padding
    locations = torch.rand(batch, queries, heads, len(shapes), points, 2,
                           dtype=torch.float64) * 1.4 - 0.2
    weights = torch.rand(batch, queries, heads, len(shapes), points, dtype=torch.float64)

    got = multi_scale_deformable_attn(value, torch.tensor(shapes), locations, weights)

    expected = torch.zeros(batch, queries, heads, dims, dtype=torch.float64)
    starts = [0, shapes[0][0] * shapes[0][1]]
    for b in range(batch):
        for q in range(queries):
            for head in range(heads):
                for level, (h, w) in enumerate(shapes):
                    tokens = value[b, starts[level]:starts[level] + h * w, head]
                    image = tokens.T.reshape(dims, h, w)
                    for p in range(points):
                        x, y = locations[b, q, head, level, p].tolist()
                        expected[b, q, head] += (weights[b, q, head, level, p]
                                                 * _bilinear_zero_padded(image, x, y))
    assert got.shape == (batch, queries, heads * dims)
    torch.testing.assert_close(got, expected.flatten(2))


def test_functional_rejects_shapes_not_covering_value():
    value = torch.zeros(1, 10, 1, 4)
    with pytest.raises(ValueError, match='cover 12 positions'):
        multi_scale_deformable_attn(value, torch.tensor([[3, 4]]),
                                    torch.zeros(1, 2, 1, 1, 1, 2), torch.zeros(1, 2, 1, 1, 1))


def test_init_follows_mmcv():
    attn = MultiScaleDeformableAttention(embed_dims=8, num_heads=4, num_levels=2, num_points=3)
    bias = attn.sampling_offsets.bias.view(4, 2, 3, 2)
    directions = torch.tensor([[1., 0.], [0., 1.], [-1., 0.], [0., -1.]])
    for point in range(3):
        for level in range(2):
            torch.testing.assert_close(bias[:, level, point], directions * (point + 1),
                                       atol=1e-6, rtol=0)
    assert attn.sampling_offsets.weight.abs().sum() == 0
    assert attn.attention_weights.weight.abs().sum() == 0
    assert attn.attention_weights.bias.abs().sum() == 0
    assert attn.value_proj.bias.abs().sum() == 0 and attn.output_proj.bias.abs().sum() == 0
    bound = math.sqrt(6 / (8 + 8))  # xavier-uniform bound
    assert attn.value_proj.weight.abs().max() <= bound
    assert attn.value_proj.weight.std() > bound / 4


def _identity_attention(num_levels: int = 1, num_points: int = 1,
                        embed_dims: int = 4) -> MultiScaleDeformableAttention:
    """One head, identity projections, zero offsets, uniform weights."""
    attn = MultiScaleDeformableAttention(embed_dims=embed_dims, num_heads=1,
                                         num_levels=num_levels, num_points=num_points,
                                         dropout=0.0)
    with torch.no_grad():
        attn.sampling_offsets.bias.zero_()
        for proj in (attn.value_proj, attn.output_proj):
            proj.weight.copy_(torch.eye(embed_dims))
    return attn


def test_forward_at_pixel_centres_returns_identity_plus_value():
    attn = _identity_attention(num_points=3)
    h, w = 2, 3
    value = torch.randn(2, h * w, 4)
    query = torch.randn(2, h * w, 4)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    centres = torch.stack([(xs.flatten() + 0.5) / w, (ys.flatten() + 0.5) / h], -1)
    reference = centres[None, :, None].expand(2, -1, 1, -1)
    out = attn(query, value=value, reference_points=reference,
               spatial_shapes=torch.tensor([[h, w]]))
    torch.testing.assert_close(out, query + value)


def test_offsets_are_pixels_of_each_level_x_first():
    attn = _identity_attention(num_levels=2)
    shapes = torch.tensor([[2, 4], [1, 2]])
    value = torch.arange(10 * 4, dtype=torch.float32).view(1, 10, 4)
    with torch.no_grad():
        attn.sampling_offsets.bias.copy_(torch.tensor([1., 0., 0., 0.]))  # level 0: +1 px in x
    # reference at the centre of pixel (row 0, col 0) of level 0 and of level 1
    reference = torch.tensor([[[[0.125, 0.25], [0.25, 0.5]]]])
    query = torch.zeros(1, 1, 4)
    out = attn(query, value=value, reference_points=reference, spatial_shapes=shapes)
    # uniform weights over the 2 levels: pixel (0, 1) of level 0 and pixel (0, 0) of level 1
    torch.testing.assert_close(out[0, 0], 0.5 * value[0, 1] + 0.5 * value[0, 8])


def test_box_reference_points_scale_offsets_by_box_size():
    attn = _identity_attention(num_points=2)
    value = torch.arange(16 * 4, dtype=torch.float32).view(1, 16, 4)
    with torch.no_grad():
        # offsets (+2, 0) for both points; box w = 0.5 -> shift 2 / 2 * 0.5 * 0.5 = 0.25
        attn.sampling_offsets.bias.copy_(torch.tensor([2., 0., 2., 0.]))
    box = torch.tensor([[[[0.125, 0.125, 0.5, 0.5]]]])  # centre of pixel (0, 0) of a 4x4 map
    out = attn(torch.zeros(1, 1, 4), value=value, reference_points=box,
               spatial_shapes=torch.tensor([[4, 4]]))
    torch.testing.assert_close(out[0, 0], value[0, 1])  # x 0.375 = centre of pixel (0, 1)


def test_key_padding_mask_zeroes_padded_values():
    attn = _identity_attention()
    value = torch.ones(1, 2, 4)
    reference = torch.tensor([[[[0.25, 0.5]], [[0.75, 0.5]]]])
    padding = torch.tensor([[False, True]])
    out = attn(torch.zeros(1, 2, 4), value=value, reference_points=reference,
               spatial_shapes=torch.tensor([[1, 2]]), key_padding_mask=padding)
    torch.testing.assert_close(out[0, 0], torch.ones(4))
    torch.testing.assert_close(out[0, 1], torch.zeros(4))


def test_query_pos_and_identity_and_sequence_first_layout():
    torch.manual_seed(0)
    attn = MultiScaleDeformableAttention(embed_dims=8, num_heads=2, num_levels=1, num_points=2,
                                         dropout=0.0)
    with torch.no_grad():
        attn.sampling_offsets.weight.normal_(0, 0.1)
        attn.attention_weights.weight.normal_(0, 0.1)
    shapes = torch.tensor([[2, 3]])
    query, pos, identity = torch.randn(3, 2, 6, 8).unbind(0)
    reference = torch.rand(2, 6, 1, 2)
    out = attn(query, query_pos=pos, identity=identity, reference_points=reference,
               spatial_shapes=shapes)
    # value defaults to the query WITHOUT its positional code
    explicit = attn(query + pos, value=query, identity=identity, reference_points=reference,
                    spatial_shapes=shapes)
    torch.testing.assert_close(out, explicit)

    attn_seq = MultiScaleDeformableAttention(embed_dims=8, num_heads=2, num_levels=1,
                                             num_points=2, dropout=0.0, batch_first=False)
    attn_seq.load_state_dict(attn.state_dict())
    out_seq = attn_seq(query.transpose(0, 1), query_pos=pos.transpose(0, 1),
                       identity=identity.transpose(0, 1), reference_points=reference,
                       spatial_shapes=shapes)
    torch.testing.assert_close(out_seq.transpose(0, 1), out)


def test_bf16_autocast_and_gradients_reach_offsets():
    torch.manual_seed(0)
    attn = MultiScaleDeformableAttention(embed_dims=8, num_heads=2, num_levels=2, num_points=2,
                                         dropout=0.0)
    shapes = torch.tensor([[4, 4], [2, 2]])
    query = torch.randn(1, 20, 8)
    reference = torch.rand(1, 20, 2, 2)
    expected = attn(query, reference_points=reference, spatial_shapes=shapes)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got = attn(query, reference_points=reference, spatial_shapes=shapes)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.float(), expected, atol=0.1, rtol=0.05)

    expected.square().sum().backward()
    assert attn.sampling_offsets.weight.grad.abs().sum() > 0
    assert attn.attention_weights.weight.grad.abs().sum() > 0


def test_rejects_bad_reference_points():
    attn = MultiScaleDeformableAttention(embed_dims=8, num_heads=2, num_levels=1, num_points=1)
    with pytest.raises(ValueError, match='must be 2 or 4'):
        attn(torch.zeros(1, 4, 8), reference_points=torch.zeros(1, 4, 1, 3),
             spatial_shapes=torch.tensor([[2, 2]]))
    with pytest.raises(ValueError, match='divisible'):
        MultiScaleDeformableAttention(embed_dims=10, num_heads=4)
