"""mask_pool equals the plain average of the features inside each mask, bit for bit."""
import pytest
import torch

from seg.models.heads.mask_pooling import mask_pool


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_mask_pool_equals_explicit_masked_average(dtype):
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(2, 16, 33, 40, generator=generator).to(dtype)
    mask_logits = torch.randn(2, 7, 33, 40, generator=generator)
    mask_logits[0, 0] = -1.0  # an empty mask pools to zero
    binary = (mask_logits > 0).to(dtype)  # areas up to ~1300 px: beyond bf16's exact integers
    weights = binary / (binary.sum(dim=(-2, -1), keepdim=True) + 1e-8)
    expected = torch.einsum('bchw,bqhw->bqc', features, weights)
    pooled = mask_pool(features, mask_logits)
    assert pooled.dtype == dtype
    assert torch.equal(pooled, expected)
    assert torch.equal(pooled[0, 0], torch.zeros(16, dtype=dtype))
