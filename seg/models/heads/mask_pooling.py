"""Average of a feature map inside each predicted (binary) mask."""
import torch
import torch.nn.functional as F


def mask_pool(features: torch.Tensor, mask_logits: torch.Tensor) -> torch.Tensor:
    """Pool ``features`` (B, C, H, W) inside the masks ``mask_logits > 0`` (B, Q, h, w).

    Masks of another size are resized bilinearly first. Returns (B, Q, C). The mask is a
    constant for autograd (the reference pools with detached masks); an empty mask pools to 0.
    """
    if features.shape[-2:] != mask_logits.shape[-2:]:
        mask_logits = F.interpolate(
            mask_logits, size=features.shape[-2:], mode='bilinear', align_corners=False)
    with torch.no_grad():
        binary = (mask_logits.detach() > 0).to(features.dtype)
        weights = binary / (binary.sum(dim=(-2, -1), keepdim=True) + 1e-8)
    return torch.einsum('bchw,bqhw->bqc', features, weights)
