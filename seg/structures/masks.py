"""Binary masks -> boxes and COCO run-length encodings (one implementation of each).

Box convention everywhere in this package: tight boxes whose far edge is exclusive, i.e.
``x2`` / ``y2`` lie one past the last foreground column / row (mmdet's ``mask2bbox``, COCO's
``toBbox``), so ``w = x2 - x1`` is the mask's width in pixels. An empty mask gives an all-zero
box.
"""
from typing import List, Union

import numpy as np
import torch
from pycocotools import mask as mask_utils
from torch import Tensor

BOX_FORMATS = ('xyxy', 'xywh')
MaskArray = Union[np.ndarray, Tensor]


def mask_to_box(masks: MaskArray, fmt: str = 'xyxy') -> MaskArray:
    """Tight float32 boxes of binary masks, ``(H, W)`` -> ``(4,)`` or ``(N, H, W)`` -> ``(N, 4)``.

    ``fmt``: ``'xyxy'`` gives ``(x1, y1, x2, y2)``, ``'xywh'`` gives ``(x1, y1, w, h)`` (COCO
    json ``bbox``). A tensor gives a tensor on its device, an array gives an array.
    """
    if fmt not in BOX_FORMATS:
        raise ValueError(f'box format must be one of {BOX_FORMATS}, got {fmt!r}')
    if isinstance(masks, Tensor):
        return _mask_to_box(masks, fmt)
    # Bool arrays share memory with the tensor; no copy unless the strides are negative.
    return _mask_to_box(torch.from_numpy(np.ascontiguousarray(masks)), fmt).numpy()


def _mask_to_box(masks: Tensor, fmt: str) -> Tensor:
    if masks.dim() not in (2, 3):
        raise ValueError(f'mask_to_box expects an (H, W) mask or (N, H, W) masks, got shape '
                         f'{tuple(masks.shape)}')
    single = masks.dim() == 2
    masks = masks.bool()
    if single:
        masks = masks[None]
    num_masks, height, width = masks.shape
    if num_masks == 0:
        return masks.new_zeros((0, 4), dtype=torch.float32)
    cols_any = masks.any(dim=1)  # (N, W)
    rows_any = masks.any(dim=2)  # (N, H)
    # argmax over 0/1 returns the first 1; on the flipped axis it finds the last one.
    x1 = cols_any.byte().argmax(dim=1)
    y1 = rows_any.byte().argmax(dim=1)
    x2 = width - cols_any.flip(1).byte().argmax(dim=1)
    y2 = height - rows_any.flip(1).byte().argmax(dim=1)
    if fmt == 'xywh':
        x2, y2 = x2 - x1, y2 - y1
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()
    boxes = boxes * cols_any.any(dim=1)[:, None]
    return boxes[0] if single else boxes


def masks_to_rles(masks: np.ndarray) -> List[dict]:
    """COCO compressed RLEs of an ``(N, H, W)`` binary mask stack, json-ready: each
    ``dict(size=[H, W], counts=str)``."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f'expected an (N, H, W) mask stack, got shape {masks.shape}')
    if masks.shape[0] == 0:
        return []
    # pycocotools encodes column-major (H, W, N) uint8 stacks in one call.
    rles = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    for rle in rles:
        rle['counts'] = rle['counts'].decode('ascii')
    return rles


def mask_to_rle(mask: np.ndarray) -> dict:
    """COCO compressed RLE of one binary ``(H, W)`` mask: ``dict(size=[H, W], counts=str)``."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f'mask_to_rle expects an (H, W) mask, got shape {mask.shape}')
    return masks_to_rles(mask[None])[0]


__all__ = ['BOX_FORMATS', 'mask_to_box', 'mask_to_rle', 'masks_to_rles']
