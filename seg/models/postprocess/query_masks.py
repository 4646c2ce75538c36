"""Query mask logits resized to the output size on demand, a few queries at a time.

The decoder predicts masks at stride 4; the results are needed at the original image size.
Resizing all Q masks first (Q x H x W floats: 300 x 12 MP = 14 GB for a phone photo) is what
used to bound the image size. :class:`QueryMasks` keeps the stride-4 logits and resizes only
the queries a rule selects (panoptic: kept queries; instance: the top-k), in chunks, with
exactly the two-step resize of before (bilinear to the padded input size, crop to
``img_shape``, bilinear to ``ori_shape``: the reference's, see ``restore_mask_logits``), so
the results are unchanged. The semantic rule needs every query at every pixel: it takes them
a chunk at a time (:meth:`QueryMasks.chunks`), so it holds K x H x W class scores instead of
Q x H x W mask logits.
"""
from typing import Iterator, Optional, Sequence, Tuple

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

    def _resize(self, logits: Tensor) -> Tensor:
        if tuple(logits.shape[-2:]) != self.input_shape:
            logits = F.interpolate(logits[None], size=self.input_shape, mode='bilinear',
                                   align_corners=False)[0]
        return restore_mask_logits(logits, self.img_shape, self.ori_shape)

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

    def chunks(self) -> Iterator[Tuple[slice, Tensor]]:
        """(query slice, its resized logits) for every chunk of queries, in order."""
        for start in range(0, len(self), self.chunk):
            window = slice(start, start + self.chunk)
            yield window, self._resize(self.logits[window])
