"""Query mask logits resized to the output size on demand: some queries, some rows at a time.

The decoder predicts masks at stride 4; the results are needed at the original image size.
Resizing all Q masks first (Q x H x W floats: 300 x 12 MP = 14 GB for a phone photo) is what
used to bound the image size. :class:`QueryMasks` keeps the stride-4 logits and gives the
masks at the output size only for the queries a rule selects (panoptic: kept queries;
instance: the top-k) and only for a band of output rows at a time (:meth:`QueryMasks.rows`),
following the two-step resize of the reference (bilinear to the padded input size, crop to
``img_shape``, bilinear to ``ori_shape``, as ``restore_mask_logits`` does):

* the first step (stride 4 to the input size, an exact factor 4) is computed on a band of
  stride-4 rows with one row of margin on each side: the same kernel, the same source
  coordinates, so bit-identical to resizing the whole map;
* the second step (to ``ori_shape``, any factor) resizes the band's columns with the kernel
  itself (rows unchanged) and then blends its rows' two taps at the kernel's source
  coordinates; it equals ``F.interpolate`` to float rounding.

The rules read the bands through :func:`sweep_queries`, so no full-size tensor of all queries
(or of all classes, for the semantic rule) ever exists.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

#: The first resize step is banded exactly when the input is this many times the logits.
MASK_STRIDE = 4


class QueryMasks:
    """One image's (Q, h, w) mask logits seen as (Q, H, W) at the output size.

    :meth:`rows` gives a band of output rows of selected queries, as
    :func:`restore_mask_logits` after an upsampling to ``input_shape`` would give them.

    Args:
        logits: (Q, h, w) mask logits (stride 4, or already at ``input_shape``).
        input_shape: padded network-input size the logits are upsampled to first.
        img_shape: valid region of the input (the padding is cut off).
        ori_shape: output size (None: ``img_shape``).
    """

    def __init__(self, logits: Tensor, input_shape: Sequence[int], img_shape: Sequence[int],
                 ori_shape: Optional[Sequence[int]] = None) -> None:
        if logits.dim() != 3:
            raise ValueError(f'mask logits must be (Q, h, w), got {tuple(logits.shape)}')
        self.logits = logits
        self.input_shape = (int(input_shape[0]), int(input_shape[1]))
        self.img_shape = (int(img_shape[0]), int(img_shape[1]))
        self.ori_shape = None if ori_shape is None else (int(ori_shape[0]), int(ori_shape[1]))
        if (self.img_shape[0] > self.input_shape[0]
                or self.img_shape[1] > self.input_shape[1]):
            raise ValueError(f'img_shape {self.img_shape} is larger than the input '
                             f'{self.input_shape}')
        self._taps = None

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

    def __len__(self) -> int:
        return self.logits.shape[0]

    # ------------------------------------------------------------------ bands of rows
    def rows(self, logits: Tensor, start: int, stop: int) -> Tensor:
        """Output rows ``[start, stop)`` of the masks whose stride-4 logits are ``logits``
        ((n, h, w), rows of ``self.logits``): (n, stop - start, W) at the output size."""
        if self.ori_shape is None or self.ori_shape == self.img_shape:
            return self._input_rows(logits, start, stop)[:, :, :self.img_shape[1]]
        row_index, row_weights = self._second_step_row_taps(logits)
        first = int(row_index[start, 0])
        last = int(row_index[stop - 1, 1]) + 1
        crop = self._input_rows(logits, first, last)[:, :, :self.img_shape[1]]
        # Columns by the kernel itself (rows kept: weights 1 and 0, exact), then the rows'
        # two taps, blended in one pass.
        columns = F.interpolate(crop[None], size=(last - first, self.ori_shape[1]),
                                mode='bilinear', align_corners=False)[0]
        band_rows = row_index[start:stop] - first
        return torch.lerp(columns.index_select(1, band_rows[:, 0]),
                          columns.index_select(1, band_rows[:, 1]),
                          row_weights[start:stop, 1, None])

    def _input_rows(self, logits: Tensor, start: int, stop: int) -> Tensor:
        """Rows ``[start, stop)`` of the logits at the padded input size (n, rows, W_in)."""
        height, width = logits.shape[-2:]
        if (height, width) == self.input_shape:
            return logits[:, start:stop]
        if self.input_shape != (MASK_STRIDE * height, MASK_STRIDE * width):
            # not an exact factor: resize whole masks (still only the selected queries)
            return F.interpolate(logits[None], size=self.input_shape, mode='bilinear',
                                 align_corners=False)[0, :, start:stop]
        # An input row y reads stride-4 rows floor((y + 0.5) / 4 - 0.5) and the next: one row
        # of margin each side keeps the band's edge clamping away from the rows kept.
        low = max(start // MASK_STRIDE - 1, 0)
        high = min(-(-stop // MASK_STRIDE) + 1, height)
        band = F.interpolate(logits[None, :, low:high],
                             size=(MASK_STRIDE * (high - low), self.input_shape[1]),
                             mode='bilinear', align_corners=False)[0]
        offset = MASK_STRIDE * low
        return band[:, start - offset:stop - offset]

    def _second_step_row_taps(self, logits: Tensor) -> Tuple[Tensor, Tensor]:
        if self._taps is None:
            self._taps = _bilinear_taps(self.img_shape[0], self.ori_shape[0], logits.device)
        row_index, row_weights = self._taps
        return row_index, row_weights.to(logits.dtype)


def _bilinear_taps(in_size: int, out_size: int, device) -> Tuple[Tensor, Tensor]:
    """Source indices (out, 2) and weights (out, 2) of a bilinear resize from ``in_size`` to
    ``out_size`` with ``align_corners=False``, as PyTorch's kernel computes them: scale =
    in / out in float32, source = scale * (dst + 0.5) - 0.5 clamped at 0, the next index
    clamped to the last."""
    scale = torch.tensor(in_size / out_size, dtype=torch.float32)
    dst = torch.arange(out_size, dtype=torch.float32, device=device)
    source = (scale.to(device) * (dst + 0.5) - 0.5).clamp(min=0)
    first = source.long()
    second = torch.clamp(first + 1, max=in_size - 1)
    fraction = source - first.float()
    return (torch.stack([first, second], 1),
            torch.stack([1 - fraction, fraction], 1))
