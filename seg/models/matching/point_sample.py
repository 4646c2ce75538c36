"""Point sampling of mask maps (mmcv's ``point_sample``) and uncertainty-guided point selection.

Mask2Former computes its matching costs and mask losses on a few thousand sampled points instead
of full masks. Points are normalised ``(x, y)`` coordinates in ``[0, 1]``; ``(0, 0)`` is the
top-left corner of the map and ``(1, 1)`` its bottom-right corner.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def point_sample(input: Tensor, points: Tensor, align_corners: bool = False) -> Tensor:
    """Bilinearly sample ``input`` at normalised ``points`` (zeros outside the map).

    Args:
        input: (N, C, H, W) maps. Bool / integer maps (ground-truth masks) are sampled as floats.
        points: (N, P, 2) or (N, Hp, Wp, 2) coordinates ``(x, y)`` in ``[0, 1]``.
        align_corners: passed to :func:`torch.nn.functional.grid_sample`.

    Returns:
        (N, C, P) or (N, C, Hp, Wp) sampled values, in the promoted dtype of both inputs.
    """
    if input.dim() != 4:
        raise ValueError(
            f'point_sample: input must be (N, C, H, W), got shape {tuple(input.shape)}')
    if points.dim() not in (3, 4) or points.shape[-1] != 2:
        raise ValueError('point_sample: points must be (N, P, 2) or (N, Hp, Wp, 2), got shape '
                         f'{tuple(points.shape)}')
    if points.shape[0] != input.shape[0]:
        raise ValueError(f'point_sample: batch sizes differ, input {input.shape[0]} vs '
                         f'points {points.shape[0]}')
    # grid_sample needs one floating dtype for both; promoting keeps float32 coordinates exact
    # when the maps are half precision, and turns bool/uint8 masks into floats.
    dtype = torch.promote_types(input.dtype, points.dtype)
    if not dtype.is_floating_point:
        dtype = torch.float32
    if points.shape[0] > 1 and points.stride(0) == 0:
        # the same points for every map (expanded): transform them once, not once per map
        grid = (points[:1].to(dtype) * 2.0 - 1.0).expand_as(points)
    else:
        grid = points.to(dtype) * 2.0 - 1.0
    flat_points = grid.dim() == 3
    if flat_points:
        grid = grid.unsqueeze(2)
    output = F.grid_sample(input.to(dtype), grid, mode='bilinear', padding_mode='zeros',
                           align_corners=align_corners)
    return output.squeeze(3) if flat_points else output


def get_uncertain_point_coords_with_randomness(mask_logits: Tensor, num_points: int,
                                               oversample_ratio: float,
                                               importance_sample_ratio: float) -> Tensor:
    """Pick points where class-agnostic mask logits are least certain, plus uniform ones.

    Follows mmdet: draw ``int(num_points * oversample_ratio)`` uniform points, score each by
    ``-|logit|`` at the point, keep the ``int(importance_sample_ratio * num_points)`` highest
    scores and fill up to ``num_points`` with fresh uniform points.

    Args:
        mask_logits: (N, 1, H, W) mask logits.
        num_points: points per mask.
        oversample_ratio: >= 1, how many candidates to draw per kept point.
        importance_sample_ratio: in [0, 1], the share of points chosen by uncertainty.

    Returns:
        (N, num_points, 2) float32 coordinates in ``[0, 1]``, uncertain points first.
    """
    if mask_logits.dim() != 4 or mask_logits.shape[1] != 1:
        raise ValueError('get_uncertain_point_coords_with_randomness: mask_logits must be '
                         f'(N, 1, H, W), got shape {tuple(mask_logits.shape)}')
    if num_points < 1:
        raise ValueError(f'num_points must be >= 1, got {num_points}')
    if oversample_ratio < 1:
        raise ValueError(f'oversample_ratio must be >= 1, got {oversample_ratio}')
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError(
            f'importance_sample_ratio must be in [0, 1], got {importance_sample_ratio}')
    num_masks = mask_logits.shape[0]
    device = mask_logits.device
    num_candidates = int(num_points * oversample_ratio)
    num_uncertain = int(importance_sample_ratio * num_points)
    num_random = num_points - num_uncertain
    with torch.no_grad():
        candidates = torch.rand(num_masks, num_candidates, 2, device=device)
        # Uncertainty is measured on the sampled (interpolated) logits, not on the grid cells.
        uncertainty = -point_sample(mask_logits, candidates).squeeze(1).abs()
        top_index = uncertainty.topk(num_uncertain, dim=1).indices
        coords = candidates.gather(1, top_index.unsqueeze(-1).expand(-1, -1, 2))
        if num_random > 0:
            coords = torch.cat([coords, torch.rand(num_masks, num_random, 2, device=device)], dim=1)
    return coords
