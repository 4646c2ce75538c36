"""Small mask utilities shared by the post-processing functions."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def mask2bbox(masks: Tensor) -> Tensor:
    """Tight ``(x1, y1, x2, y2)`` float boxes of binary masks ``(n, H, W)``.

    Same convention as mmdet's ``mask2bbox``: ``x2``/``y2`` are one past the last foreground
    column/row, and an empty mask gives an all-zero box.
    """
    if masks.dim() != 3:
        raise ValueError(f'mask2bbox expects masks of shape (n, H, W), got {tuple(masks.shape)}')
    masks = masks.bool()
    num_masks, height, width = masks.shape
    if num_masks == 0:
        return masks.new_zeros((0, 4), dtype=torch.float32)
    cols_any = masks.any(dim=1)  # (n, W)
    rows_any = masks.any(dim=2)  # (n, H)
    # argmax over bool returns the first True; on the flipped axis, the last True.
    x1 = cols_any.byte().argmax(dim=1)
    y1 = rows_any.byte().argmax(dim=1)
    x2 = width - cols_any.flip(1).byte().argmax(dim=1)
    y2 = height - rows_any.flip(1).byte().argmax(dim=1)
    bboxes = torch.stack([x1, y1, x2, y2], dim=1).float()
    non_empty = cols_any.any(dim=1)
    return bboxes * non_empty[:, None]


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
