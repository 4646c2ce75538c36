"""Query mask logits resized to the output size on demand, a few queries at a time.

The decoder predicts masks at stride 4; the results are needed at the original image size.
Resizing all Q masks first (Q x H x W floats: 300 x 12 MP = 14 GB for a phone photo) is what
used to bound the image size. :class:`QueryMasks` keeps the stride-4 logits and resizes only
the queries a rule selects (panoptic: kept queries; instance: the top-k), in chunks, with
exactly the two-step resize of before (bilinear to the padded input size, crop to
``img_shape``, bilinear to ``ori_shape``: the reference's, see ``restore_mask_logits``), so
the results are unchanged. The rules read the masks through :func:`sweep_queries`, a chunk of
queries at a time, so the semantic rule (every query at every pixel) holds K x H x W class
scores instead of Q x H x W mask logits.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .mask_ops import restore_mask_logits


class QueryMasks:
    """One image's (Q, h, w) mask logits seen as (Q, H, W) at the output size.

    Indexing (``masks[index]``, a bool mask or indices over Q) resizes only those queries, as
    :func:`restore_mask_logits` after an upsampling to ``input_shape`` would; the post-processing
    rules take it in place of a tensor. ``chunk`` bounds how many queries are resized at once.

    Args:
        logits: (Q, h, w) mask logits (stride 4, or already at ``input_shape``).
        input_shape: padded network-input size the logits are upsampled to first.
        img_shape: valid region of the input (the padding is cut off).
        ori_shape: output size (None: ``img_shape``).
    """

    def __init__(self, logits: Tensor, input_shape: Sequence[int], img_shape: Sequence[int],
                 ori_shape: Optional[Sequence[int]] = None, chunk: int = 16) -> None:
        if logits.dim() != 3:
            raise ValueError(f'mask logits must be (Q, h, w), got {tuple(logits.shape)}')
        self.logits = logits
        self.input_shape = (int(input_shape[0]), int(input_shape[1]))
        self.img_shape = (int(img_shape[0]), int(img_shape[1]))
        self.ori_shape = None if ori_shape is None else (int(ori_shape[0]), int(ori_shape[1]))
        self.chunk = max(int(chunk), 1)

    @property
    def shape(self) -> Tuple[int, int, int]:
        height, width = self.ori_shape or self.img_shape
        return (self.logits.shape[0], height, width)

    @property
    def device(self) -> torch.device:
        return self.logits.device

    @property
    def dtype(self) -> torch.dtype:
        return self.logits.dtype

    def dim(self) -> int:
        return 3

    def _resize(self, logits: Tensor, workspace=None) -> Tensor:
        if tuple(logits.shape[-2:]) != self.input_shape:
            logits = _bilinear(logits, self.input_shape, workspace, 'input_size')
        if workspace is None:
            return restore_mask_logits(logits, self.img_shape, self.ori_shape)
        logits = restore_mask_logits(logits, self.img_shape)  # the crop: a view
        if self.ori_shape is None or self.ori_shape == self.img_shape:
            return logits
        return _bilinear(logits, self.ori_shape, workspace, 'original_size')

    def resized(self, queries: Tensor, workspace) -> Tensor:
        """The masks of ``queries`` (indices) at the output size, written into buffers of
        ``workspace`` (:class:`Workspace`), overwritten by the next call: the same values as
        ``self[queries]`` without allocating full-size tensors."""
        return self._resize(self.logits[queries], workspace)

    def __getitem__(self, index) -> Tensor:
        selected = self.logits[index]
        if selected.dim() != 3:
            raise IndexError('QueryMasks selects whole queries: index with a bool mask or '
                             'indices over the queries')
        if len(selected) <= self.chunk:
            return self._resize(selected)
        return torch.cat([self._resize(part) for part in selected.split(self.chunk)])

    def __len__(self) -> int:
        return self.logits.shape[0]


def _bilinear(maps: Tensor, size: Tuple[int, int], workspace=None, name: str = '') -> Tensor:
    """``F.interpolate(maps[None], size, mode='bilinear', align_corners=False)[0]`` for (N, h, w)
    maps, into ``workspace``'s buffer ``name`` when given (the same kernel, its out= form)."""
    if workspace is None:
        return F.interpolate(maps[None], size=size, mode='bilinear', align_corners=False)[0]
    out = workspace.take(name, (1, maps.shape[0]) + tuple(size), maps.dtype, maps.device)
    torch.ops.aten.upsample_bilinear2d.out(maps[None], list(size), False, None, None, out=out)
    return out[0]

