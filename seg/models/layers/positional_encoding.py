"""Sine positional encodings with mmdet 3.x semantics (DETR-style, optional normalisation).

Channel layout of the 2-D/3-D encodings: the y block first, then the x block, each of
``num_feats`` channels with sin/cos interleaved (sin of frequency 0, cos of frequency 0, ...).
"""
import math

import torch
import torch.nn as nn

from seg.registry import MODELS


def _inverse_frequencies(num_feats: int, temperature: float, device) -> torch.Tensor:
    """temperature ** (2 * (i // 2) / num_feats) for i < num_feats (pairs share a frequency)."""
    dim_t = torch.arange(num_feats, dtype=torch.float32, device=device)
    return temperature ** (2 * torch.div(dim_t, 2, rounding_mode='floor') / num_feats)


def _interleave_sin_cos(angles: torch.Tensor) -> torch.Tensor:
    """(..., F) angles -> (..., F) with sin at even and cos at odd channels."""
    return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=-1).flatten(-2)


class SinePositionalEncoding(nn.Module):
    """2-D sine encoding of a padding mask.

    Args:
        num_feats: channels per axis (output has 2 * num_feats).
        temperature: frequency base.
        normalize: scale the cumulative coordinates so the last valid position maps to ``scale``.
        scale: see ``normalize``.
        eps: added to the normaliser.
        offset: added to the coordinates before normalising.
    """

    def __init__(self, num_feats: int, temperature: int = 10000, normalize: bool = False,
                 scale: float = 2 * math.pi, eps: float = 1e-6, offset: float = 0.) -> None:
        super().__init__()
        self.num_feats = num_feats
        self.temperature = temperature
        self.normalize = normalize
        self.scale = scale
        self.eps = eps
        self.offset = offset

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        """mask: (B, h, w) bool, True = padding. Returns (B, 2 * num_feats, h, w) float32."""
        if mask.dim() != 3:
            raise ValueError(f'SinePositionalEncoding expects a (B, h, w) mask, got '
                             f'{tuple(mask.shape)}')
        not_mask = 1 - mask.to(torch.int)
        y_embed = not_mask.cumsum(1, dtype=torch.float32)
        x_embed = not_mask.cumsum(2, dtype=torch.float32)
        if self.normalize:
            y_embed = (y_embed + self.offset) / (y_embed[:, -1:, :] + self.eps) * self.scale
            x_embed = (x_embed + self.offset) / (x_embed[:, :, -1:] + self.eps) * self.scale
        dim_t = _inverse_frequencies(self.num_feats, self.temperature, mask.device)
        pos_x = _interleave_sin_cos(x_embed[..., None] / dim_t)
        pos_y = _interleave_sin_cos(y_embed[..., None] / dim_t)
        return torch.cat((pos_y, pos_x), dim=-1).permute(0, 3, 1, 2)


class SinePositionalEncoding3D(SinePositionalEncoding):
    """Sine encoding of a (B, T, h, w) mask: the 2-D (y, x) code plus a time code.

    The time code has 2 * num_feats channels (frequencies over 2 * num_feats) and is added to
    the concatenated (y, x) code, as in mmdet.
    """

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        """mask: (B, T, h, w) bool, True = padding. Returns (B, T, 2 * num_feats, h, w)."""
        if mask.dim() != 4:
            raise ValueError(f'SinePositionalEncoding3D expects a (B, T, h, w) mask, got '
                             f'{tuple(mask.shape)}')
        not_mask = 1 - mask.to(torch.int)
        z_embed = not_mask.cumsum(1, dtype=torch.float32)
        y_embed = not_mask.cumsum(2, dtype=torch.float32)
        x_embed = not_mask.cumsum(3, dtype=torch.float32)
        if self.normalize:
            z_embed = (z_embed + self.offset) / (z_embed[:, -1:] + self.eps) * self.scale
            y_embed = (y_embed + self.offset) / (y_embed[:, :, -1:] + self.eps) * self.scale
            x_embed = (x_embed + self.offset) / (x_embed[:, :, :, -1:] + self.eps) * self.scale
        dim_t = _inverse_frequencies(self.num_feats, self.temperature, mask.device)
        dim_t_z = _inverse_frequencies(self.num_feats * 2, self.temperature, mask.device)
        pos_x = _interleave_sin_cos(x_embed[..., None] / dim_t)
        pos_y = _interleave_sin_cos(y_embed[..., None] / dim_t)
        pos_z = _interleave_sin_cos(z_embed[..., None] / dim_t_z)
        return (torch.cat((pos_y, pos_x), dim=-1) + pos_z).permute(0, 1, 4, 2, 3)


def coordinate_to_encoding(coord_tensor: torch.Tensor, num_feats: int = 128,
                           temperature: int = 10000,
                           scale: float = 2 * math.pi) -> torch.Tensor:
    """Sine encoding of normalised points (x, y) or boxes (cx, cy, w, h), mmdet's layout.

    Args:
        coord_tensor: (..., 2) or (..., 4) coordinates in [0, 1].
    Returns:
        (..., 2 * num_feats) in block order (y, x) or (..., 4 * num_feats) in order
        (y, x, w, h); each block has sin/cos interleaved.
    """
    if coord_tensor.shape[-1] not in (2, 4):
        raise ValueError(f'coord_tensor must end with 2 (x, y) or 4 (cx, cy, w, h) values, '
                         f'got shape {tuple(coord_tensor.shape)}')
    dim_t = _inverse_frequencies(num_feats, temperature, coord_tensor.device)
    blocks = [_interleave_sin_cos((coord_tensor[..., axis] * scale)[..., None] / dim_t)
              for axis in range(coord_tensor.shape[-1])]
    blocks[0], blocks[1] = blocks[1], blocks[0]  # y before x
    return torch.cat(blocks, dim=-1)


MODELS.register_module(module=SinePositionalEncoding)
MODELS.register_module(module=SinePositionalEncoding3D)
