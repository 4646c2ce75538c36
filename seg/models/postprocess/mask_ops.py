"""Small mask utilities shared by the post-processing functions."""
from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor


def restore_mask_logits(mask_pred: Tensor, img_shape: Sequence[int],
                        ori_shape: Optional[Sequence[int]] = None) -> Tensor:
    """Crop padded mask logits ``(N, H_pad, W_pad)`` to ``img_shape`` and optionally resize.

    The padding added by the data preprocessor lies at the bottom/right, so the valid region is
    ``[:img_h, :img_w]``. With ``ori_shape`` the crop is bilinearly resized
    (``align_corners=False``) to the original image size, as mmdet's Mask2Former does.
    """
    if mask_pred.dim() != 3:
        raise ValueError(
            f'mask_pred must have shape (N, H, W), got {tuple(mask_pred.shape)}')
    img_height, img_width = int(img_shape[0]), int(img_shape[1])
    if img_height > mask_pred.shape[-2] or img_width > mask_pred.shape[-1]:
        raise ValueError(
            f'img_shape {tuple(img_shape[:2])} is larger than the mask logits '
            f'{tuple(mask_pred.shape[-2:])}; the masks must be at the padded input size')
    mask_pred = mask_pred[:, :img_height, :img_width]
    if ori_shape is None:
        return mask_pred
    ori_height, ori_width = int(ori_shape[0]), int(ori_shape[1])
    if (ori_height, ori_width) == (img_height, img_width):
        # Same-size bilinear resizing (align_corners=False) has weights 1 and 0: the identity
        # for finite logits. Skipping it saves a full copy of (N, H, W) at large sizes.
        return mask_pred
    return F.interpolate(mask_pred[:, None], size=(ori_height, ori_width), mode='bilinear',
                         align_corners=False)[:, 0]


def check_query_outputs(mask_cls: Tensor, mask_pred: Tensor) -> None:
    """Validate one image's query outputs: ``mask_cls`` (Q, K+1), ``mask_pred`` (Q, H, W)."""
    if mask_cls.dim() != 2:
        raise ValueError(f'mask_cls must have shape (Q, K+1), got {tuple(mask_cls.shape)}')
    if mask_pred.dim() != 3:
        raise ValueError(f'mask_pred must have shape (Q, H, W), got {tuple(mask_pred.shape)}')
    if mask_cls.shape[0] != mask_pred.shape[0]:
        raise ValueError(
            f'mask_cls has {mask_cls.shape[0]} queries but mask_pred has {mask_pred.shape[0]}')
    if mask_cls.shape[1] < 2:
        raise ValueError(
            f'mask_cls needs at least one class plus the background column, '
            f'got {mask_cls.shape[1]} columns')
