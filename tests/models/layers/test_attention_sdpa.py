"""MultiheadAttention's ``scaled_dot_product_attention`` path against the explicit-softmax
(``nn.MultiheadAttention``, mmcv-identical) path it replaced, on tiny shapes."""
import copy

import pytest
import torch

from seg.models.layers import MultiheadAttention

HEADS = 2


def _pair(batch_first=True, dropout=0.0):
    torch.manual_seed(0)
    sdpa = MultiheadAttention(embed_dims=8, num_heads=HEADS, batch_first=batch_first,
                              dropout=dropout)
    math = copy.deepcopy(sdpa)
    math.impl = 'math'
    assert sdpa.impl == 'sdpa'
    return sdpa, math


def _inputs(batch=2, queries=5, keys=7):
    generator = torch.Generator().manual_seed(1)
    query, query_pos = torch.randn(2, batch, queries, 8, generator=generator).unbind(0)
    key, key_pos = torch.randn(2, batch, keys, 8, generator=generator).unbind(0)
    return query, query_pos, key, key_pos


def _unmask_full_rows(mask):
    """The decoder's rule (Mask2Former): a query whose keys are all blocked sees every key."""
    return mask & ~mask.all(dim=-1, keepdim=True)


def test_masked_cross_attention_matches_the_math_path():
    sdpa, math = _pair()
    query, query_pos, key, key_pos = _inputs()
    generator = torch.Generator().manual_seed(2)
    mask = torch.rand(2 * HEADS, 5, 7, generator=generator) < 0.6  # True = blocked
    mask[0, 1] = True  # fully blocked rows, un-masked as the decoder does
    mask[3, 4] = True
    mask = _unmask_full_rows(mask)
    kwargs = dict(key=key, value=key, query_pos=query_pos, key_pos=key_pos, attn_mask=mask)
    torch.testing.assert_close(sdpa(query, **kwargs), math(query, **kwargs),
                               rtol=1e-5, atol=1e-5)
    # a shared (Q, K) mask, a key padding mask and an additive float mask
    shared = _unmask_full_rows(mask[0])
    padding = torch.zeros(2, 7, dtype=torch.bool)
    padding[1, 5:] = True
    additive = torch.randn(2 * HEADS, 5, 7, generator=generator)
    for extra in (dict(attn_mask=shared), dict(attn_mask=shared, key_padding_mask=padding),
                  dict(attn_mask=additive), dict(attn_mask=None, key_padding_mask=padding)):
        kwargs = dict(key=key, value=key, query_pos=query_pos, key_pos=key_pos, **extra)
        torch.testing.assert_close(sdpa(query, **kwargs), math(query, **kwargs),
                                   rtol=1e-5, atol=1e-5)


def test_a_mask_shared_by_the_heads_equals_it_repeated_per_head():
    """(B, 1, Q, K) (the decoder's cross-attention mask, converted once for all heads) gives
    what (B * heads, Q, K) with the mask repeated gives, in both paths."""
    sdpa, math = _pair()
    query, query_pos, key, key_pos = _inputs()
    generator = torch.Generator().manual_seed(4)
    shared = _unmask_full_rows(torch.rand(2, 1, 5, 7, generator=generator) < 0.6)
    repeated = shared.expand(-1, HEADS, -1, -1).flatten(0, 1)
    kwargs = dict(key=key, value=key, query_pos=query_pos, key_pos=key_pos)
    expected = math(query, attn_mask=repeated, **kwargs)
    for attention in (sdpa, math):
        torch.testing.assert_close(attention(query, attn_mask=shared, **kwargs), expected,
                                   rtol=1e-5, atol=1e-5)
    assert not torch.allclose(sdpa(query, **kwargs), expected, atol=1e-3)  # the mask matters


def test_fully_blocked_rows_are_zero_attention_not_nan():
    """The math path gives NaN for a query whose keys are all blocked; the decoder never sends
    one (it un-masks such rows); SDPA gives a finite output (residual only)."""
    sdpa, _ = _pair()
    query, _, key, _ = _inputs()
    mask = torch.zeros(2 * HEADS, 5, 7, dtype=torch.bool)
    mask[:, 2] = True
    out = sdpa(query, key=key, value=key, attn_mask=mask)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('batch_first', [True, False])
def test_self_attention_with_and_without_mask_matches_the_math_path(batch_first):
    sdpa, math = _pair(batch_first=batch_first)
    query, query_pos, _, _ = _inputs(queries=6)
    if not batch_first:
        query, query_pos = query.transpose(0, 1), query_pos.transpose(0, 1)
    torch.testing.assert_close(sdpa(query, query_pos=query_pos),
                               math(query, query_pos=query_pos), rtol=1e-5, atol=1e-5)
    # a self-attention mask keeping two query groups apart (prompt queries)
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    self_mask = groups[:, None] != groups[None, :]
    for mask in (self_mask, self_mask.expand(2 * HEADS, -1, -1)):
        torch.testing.assert_close(sdpa(query, query_pos=query_pos, attn_mask=mask),
                                   math(query, query_pos=query_pos, attn_mask=mask),
                                   rtol=1e-5, atol=1e-5)


def test_gradients_match_the_math_path():
    sdpa, math = _pair()
    query, query_pos, key, key_pos = _inputs()
    mask = _unmask_full_rows(torch.rand(2 * HEADS, 5, 7,
                                        generator=torch.Generator().manual_seed(3)) < 0.5)
    for module in (sdpa, math):
        module(query, key=key, value=key, query_pos=query_pos, key_pos=key_pos,
               attn_mask=mask).square().sum().backward()
    for (name, ours), (_, theirs) in zip(sdpa.named_parameters(), math.named_parameters()):
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_unknown_impl_is_rejected():
    with pytest.raises(ValueError, match='impl'):
        MultiheadAttention(embed_dims=8, num_heads=2, impl='flash')
