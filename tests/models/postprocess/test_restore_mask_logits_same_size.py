"""restore_mask_logits skips a same-size resize without changing any value."""
import torch
import torch.nn.functional as F

from seg.models.postprocess import restore_mask_logits


def test_same_size_restore_equals_bilinear_resize_exactly():
    logits = torch.randn(3, 40, 48, generator=torch.Generator().manual_seed(0)) * 20
    got = restore_mask_logits(logits, img_shape=(33, 41), ori_shape=(33, 41))
    expected = F.interpolate(logits[:, None, :33, :41], size=(33, 41), mode='bilinear',
                             align_corners=False)[:, 0]
    assert torch.equal(got, expected)


def test_other_size_restore_still_resizes():
    logits = torch.randn(2, 32, 32, generator=torch.Generator().manual_seed(1))
    got = restore_mask_logits(logits, img_shape=(30, 32), ori_shape=(60, 64))
    assert got.shape == (2, 60, 64)
