"""Transformer encoder/decoder layers with mmdet 3.x semantics and parameter names.

* ``DeformableDetrTransformerEncoderLayer`` / ``DeformableDetrTransformerEncoder``: the pixel
  decoder's encoder (post-norm: deformable self-attn -> norms[0] -> FFN -> norms[1]).
* ``Mask2FormerTransformerDecoderLayer`` / ``Mask2FormerTransformerDecoder``: the mask decoder
  (masked cross-attn -> norms[0] -> self-attn -> norms[1] -> FFN -> norms[2]).

Configs use mmdet's dict form, e.g. ``layer_cfg=dict(self_attn_cfg=dict(embed_dims=256,
num_heads=8, dropout=0.0, batch_first=True), cross_attn_cfg=..., ffn_cfg=dict(embed_dims=256,
feedforward_channels=2048, num_fcs=2, ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True)))``.
"""
from typing import List, Mapping, Optional

import torch
import torch.nn as nn

from seg.registry import MODELS
from .attention import MultiheadAttention
from .builders import build_norm_layer
from .ffn import FFN
from .ms_deform_attn import MultiScaleDeformableAttention

_DEFAULT_FFN_CFG = dict(embed_dims=256, feedforward_channels=1024, num_fcs=2, ffn_drop=0.,
                        act_cfg=dict(type='ReLU', inplace=True))
_DEFAULT_ATTN_CFG = dict(embed_dims=256, num_heads=8, dropout=0.0)


def _batch_first_cfg(cfg: Optional[Mapping], name: str) -> dict:
    """Copy of an attention config with ``batch_first=True`` (the only layout mmdet allows)."""
    cfg = dict(_DEFAULT_ATTN_CFG if cfg is None else cfg)
    cfg.pop('type', None)
    if not cfg.setdefault('batch_first', True):
        raise ValueError(f'{name}: all layers here are batch-first, got batch_first=False')
    return cfg


def _ffn_cfg(cfg: Optional[Mapping]) -> dict:
    cfg = dict(_DEFAULT_FFN_CFG if cfg is None else cfg)
    cfg.pop('type', None)
    return cfg


def reject_init_cfg(init_cfg: Optional[Mapping], owner: str) -> None:
    """mmdet configs carry ``init_cfg=None``; anything else is not supported here (weights
    come from the model checkpoint), so say so instead of silently ignoring it."""
    if init_cfg is not None:
        raise ValueError(f'{owner}: init_cfg={dict(init_cfg)} is not supported; load weights '
                         f'through the model checkpoint')


def _norms(norm_cfg: Optional[Mapping], embed_dims: int, count: int) -> nn.ModuleList:
    norm_cfg = dict(type='LN') if norm_cfg is None else norm_cfg
    return nn.ModuleList([build_norm_layer(norm_cfg, embed_dims)[1] for _ in range(count)])


class DeformableDetrTransformerEncoderLayer(nn.Module):
    """Deformable self-attention -> norms[0] -> FFN -> norms[1] (post-norm)."""

    def __init__(self, self_attn_cfg: Optional[Mapping] = None,
                 ffn_cfg: Optional[Mapping] = None,
                 norm_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        self.self_attn = MultiScaleDeformableAttention(
            **_batch_first_cfg(self_attn_cfg, 'self_attn_cfg'))
        self.embed_dims = self.self_attn.embed_dims
        self.ffn = FFN(**_ffn_cfg(ffn_cfg))
        self.norms = _norms(norm_cfg, self.embed_dims, 2)

    def forward(self, query: torch.Tensor, query_pos: Optional[torch.Tensor],
                key_padding_mask: Optional[torch.Tensor], reference_points: torch.Tensor,
                spatial_shapes: torch.Tensor,
                level_start_index: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        """query (B, N, C) over all levels -> (B, N, C). See MultiScaleDeformableAttention."""
        query = self.self_attn(query=query, value=query, query_pos=query_pos,
                               key_padding_mask=key_padding_mask,
                               reference_points=reference_points, spatial_shapes=spatial_shapes,
                               level_start_index=level_start_index)
        query = self.norms[0](query)
        query = self.ffn(query)
        return self.norms[1](query)


class DeformableDetrTransformerEncoder(nn.Module):
    """Stack of ``num_layers`` deformable encoder layers (attribute ``layers``), no final norm.

    Serves as mmdet's ``Mask2FormerTransformerEncoder`` (reference points given by the caller)
    and ``DeformableDetrTransformerEncoder`` (reference points computed from valid ratios).
    """

    def __init__(self, num_layers: int, layer_cfg: Optional[Mapping] = None,
                 init_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        reject_init_cfg(init_cfg, type(self).__name__)
        layer_cfg = {} if layer_cfg is None else layer_cfg
        self.layers = nn.ModuleList([DeformableDetrTransformerEncoderLayer(**layer_cfg)
                                     for _ in range(num_layers)])
        self.embed_dims = self.layers[0].embed_dims

    def forward(self, query: torch.Tensor, query_pos: Optional[torch.Tensor],
                key_padding_mask: Optional[torch.Tensor], spatial_shapes: torch.Tensor,
                level_start_index: Optional[torch.Tensor] = None,
                valid_ratios: Optional[torch.Tensor] = None,
                reference_points: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Encode the flattened levels ``query`` (B, N, C).

        ``reference_points`` (B, N, levels, 2) default to the pixel centres of every level
        scaled by ``valid_ratios`` (B, levels, 2) (all ones when None).
        """
        if reference_points is None:
            if valid_ratios is None:
                valid_ratios = query.new_ones(
                    (query.shape[0], spatial_shapes.shape[0], 2), dtype=torch.float32)
            reference_points = self.get_encoder_reference_points(spatial_shapes, valid_ratios)
        for layer in self.layers:
            query = layer(query=query, query_pos=query_pos, key_padding_mask=key_padding_mask,
                          reference_points=reference_points, spatial_shapes=spatial_shapes,
                          level_start_index=level_start_index)
        return query

    @staticmethod
    def get_encoder_reference_points(spatial_shapes: torch.Tensor,
                                     valid_ratios: torch.Tensor) -> torch.Tensor:
        """Pixel centres of every level, normalised by the valid part of the map.

        Args:
            spatial_shapes: (levels, 2) (h, w).
            valid_ratios: (B, levels, 2) valid (w, h) fraction of each level.
        Returns:
            (B, sum(h * w), levels, 2) normalised (x, y) as seen from every level.
        """
        device = valid_ratios.device
        per_level = []
        for level, (height, width) in enumerate(spatial_shapes.tolist()):
            ref_y, ref_x = torch.meshgrid(
                torch.linspace(0.5, height - 0.5, height, dtype=torch.float32, device=device),
                torch.linspace(0.5, width - 0.5, width, dtype=torch.float32, device=device),
                indexing='ij')
            ref_y = ref_y.reshape(-1)[None] / (valid_ratios[:, None, level, 1] * height)
            ref_x = ref_x.reshape(-1)[None] / (valid_ratios[:, None, level, 0] * width)
            per_level.append(torch.stack((ref_x, ref_y), -1))
        reference_points = torch.cat(per_level, 1)
        return reference_points[:, :, None] * valid_ratios[:, None]


class Mask2FormerTransformerDecoderLayer(nn.Module):
    """Masked cross-attn -> norms[0] -> self-attn -> norms[1] -> FFN -> norms[2]."""

    def __init__(self, self_attn_cfg: Optional[Mapping] = None,
                 cross_attn_cfg: Optional[Mapping] = None, ffn_cfg: Optional[Mapping] = None,
                 norm_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(**_batch_first_cfg(self_attn_cfg, 'self_attn_cfg'))
        self.cross_attn = MultiheadAttention(
            **_batch_first_cfg(cross_attn_cfg, 'cross_attn_cfg'))
        self.embed_dims = self.self_attn.embed_dims
        self.ffn = FFN(**_ffn_cfg(ffn_cfg))
        self.norms = _norms(norm_cfg, self.embed_dims, 3)

    def forward(self, query: torch.Tensor, key: Optional[torch.Tensor] = None,
                value: Optional[torch.Tensor] = None, query_pos: Optional[torch.Tensor] = None,
                key_pos: Optional[torch.Tensor] = None,
                cross_attn_mask: Optional[torch.Tensor] = None,
                self_attn_mask: Optional[torch.Tensor] = None,
                key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """One decoder step.

        Args:
            query: (B, Q, C) query features; query_pos: (B, Q, C) or broadcastable.
            key, value: (B, K, C) memory tokens; key_pos: (B, K, C) their positional code.
            cross_attn_mask: bool (Q, K), (B * heads, Q, K) or (B, 1 | heads, Q, K), True =
                key blocked.
            self_attn_mask: bool (Q, Q) or (B * heads, Q, Q), True = blocked.
            key_padding_mask: (B, K) bool, True = ignored memory token.
        Returns:
            (B, Q, C).
        """
        query = self.cross_attn(query=query, key=key, value=value, query_pos=query_pos,
                                key_pos=key_pos, attn_mask=cross_attn_mask,
                                key_padding_mask=key_padding_mask)
        query = self.norms[0](query)
        query = self.self_attn(query=query, key=query, value=query, query_pos=query_pos,
                               key_pos=query_pos, attn_mask=self_attn_mask)
        query = self.norms[1](query)
        query = self.ffn(query)
        return self.norms[2](query)


@MODELS.register_module()
class Mask2FormerTransformerDecoder(nn.Module):
    """``num_layers`` decoder layers (``layers``) and the shared final LayerNorm
    (``post_norm``), applied before every prediction head.

    The mask-prediction loop between layers belongs to the head; ``forward`` here is the plain
    mmdet ``DetrTransformerDecoder`` loop (same masks for every layer).
    """

    def __init__(self, num_layers: int, layer_cfg: Optional[Mapping] = None,
                 post_norm_cfg: Optional[Mapping] = None,
                 return_intermediate: bool = True, init_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        reject_init_cfg(init_cfg, type(self).__name__)
        layer_cfg = {} if layer_cfg is None else layer_cfg
        self.num_layers = num_layers
        self.return_intermediate = return_intermediate
        self.layers = nn.ModuleList([Mask2FormerTransformerDecoderLayer(**layer_cfg)
                                     for _ in range(num_layers)])
        self.embed_dims = self.layers[0].embed_dims
        self.post_norm = build_norm_layer(
            dict(type='LN') if post_norm_cfg is None else post_norm_cfg, self.embed_dims)[1]

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                query_pos: Optional[torch.Tensor] = None,
                key_pos: Optional[torch.Tensor] = None,
                key_padding_mask: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        """Run every layer; returns (num_layers, B, Q, C) post-normed intermediate outputs if
        ``return_intermediate`` else (1, B, Q, C)."""
        intermediate: List[torch.Tensor] = []
        for layer in self.layers:
            query = layer(query, key=key, value=value, query_pos=query_pos, key_pos=key_pos,
                          key_padding_mask=key_padding_mask, **kwargs)
            if self.return_intermediate:
                intermediate.append(self.post_norm(query))
        if self.return_intermediate:
            return torch.stack(intermediate)
        return self.post_norm(query).unsqueeze(0)
