"""The fast MSDeformAttn implementations agree with the reference per-level layout."""
import pytest
import torch

from seg.models.layers.ms_deform_attn import (MultiScaleDeformableAttention,
                                              multi_scale_deformable_attn,
                                              multi_scale_deformable_attn_points_major)

SHAPES = torch.tensor([[6, 8], [3, 4], [2, 2]])


def random_inputs(seed: int = 0, batch: int = 2, queries: int = 7, heads: int = 2,
                  head_dims: int = 4, points: int = 3):
    generator = torch.Generator().manual_seed(seed)
    num_value = int((SHAPES[:, 0] * SHAPES[:, 1]).sum())
    value = torch.randn(batch, num_value, heads, head_dims, generator=generator)
    # Some locations fall outside [0, 1] to exercise the zero padding.
    locations = torch.rand(batch, queries, heads, len(SHAPES), points, 2,
                           generator=generator) * 1.4 - 0.2
    weights = torch.rand(batch, queries, heads, len(SHAPES), points,
                         generator=generator).softmax(-1)
    return value, locations, weights


def test_points_major_matches_reference_values_and_gradients():
    value, locations, weights = random_inputs()
    results = []
    for function in (multi_scale_deformable_attn, multi_scale_deformable_attn_points_major):
        inputs = [tensor.clone().requires_grad_() for tensor in (value, locations, weights)]
        output = function(inputs[0], SHAPES, inputs[1], inputs[2])
        (output * torch.linspace(-1, 1, output.numel()).view_as(output)).sum().backward()
        results.append([output] + [tensor.grad for tensor in inputs])
    for got, expected in zip(results[1], results[0]):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)


def test_points_major_keeps_bf16_value_dtype_like_reference():
    value, locations, weights = random_inputs(seed=1)
    value = value.bfloat16()
    got = multi_scale_deformable_attn_points_major(value, SHAPES, locations, weights)
    expected = multi_scale_deformable_attn(value, SHAPES, locations, weights)
    assert got.dtype == expected.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), expected.float(), atol=1e-2, rtol=1e-2)


def test_points_major_rejects_shapes_not_covering_value():
    value, locations, weights = random_inputs()
    with pytest.raises(ValueError, match='cover'):
        multi_scale_deformable_attn_points_major(value[:, 1:], SHAPES, locations, weights)


def _module_output(impl: str) -> torch.Tensor:
    torch.manual_seed(0)
    attention = MultiScaleDeformableAttention(embed_dims=8, num_heads=2, num_levels=3,
                                              num_points=3, dropout=0.0, impl=impl)
    with torch.no_grad():  # non-trivial offsets and weights
        attention.sampling_offsets.weight.normal_(0, 0.5)
        attention.attention_weights.weight.normal_(0, 0.5)
    num_value = int((SHAPES[:, 0] * SHAPES[:, 1]).sum())
    generator = torch.Generator().manual_seed(3)
    query = torch.randn(2, num_value, 8, generator=generator)
    reference_points = torch.rand(2, num_value, 3, 2, generator=generator)
    return attention(query, reference_points=reference_points, spatial_shapes=SHAPES)


def test_module_switch_selects_an_equivalent_implementation():
    expected = _module_output('reference')
    torch.testing.assert_close(_module_output('points_major'), expected, atol=1e-6, rtol=1e-6)


def test_compiled_implementation_matches_reference():
    torch.testing.assert_close(_module_output('compiled'), _module_output('reference'),
                               atol=1e-5, rtol=1e-5)


def test_unknown_implementation_is_rejected():
    with pytest.raises(ValueError, match="'cuda_kernel'"):
        MultiScaleDeformableAttention(embed_dims=8, num_heads=2, impl='cuda_kernel')
