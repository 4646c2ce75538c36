"""Mask2Former pixel decoder: deformable-attention encoder over the coarse levels + FPN.

Same architecture, parameter names and initialisation as mmdet 3.x ``MSDeformAttnPixelDecoder``
(used by OMG-Seg), written in plain PyTorch.
"""
import copy
from typing import List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from seg.models.layers.builders import ConvModule
from seg.models.layers.ms_deform_attn import MultiScaleDeformableAttention
from seg.models.layers.positional_encoding import SinePositionalEncoding
from seg.models.layers.transformer import DeformableDetrTransformerEncoder, reject_init_cfg
from seg.registry import MODELS

_DEFAULT_ENCODER = dict(
    num_layers=6,
    layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=256, num_heads=8, num_levels=3, num_points=4,
                           dropout=0.0, batch_first=True),
        ffn_cfg=dict(embed_dims=256, feedforward_channels=1024, num_fcs=2, ffn_drop=0.0,
                     act_cfg=dict(type='ReLU', inplace=True))))


def grid_reference_points(height: int, width: int, stride: int,
                          device: torch.device) -> torch.Tensor:
    """Normalised (x, y) pixel centres of an (h, w) map in row-major order, (h * w, 2).

    Computed as mmdet's point generator does ((i + 0.5) * stride / (size * stride)) so the
    values are bit-identical to the reference.
    """
    xs = (torch.arange(width, device=device) + 0.5).float() * stride / (width * stride)
    ys = (torch.arange(height, device=device) + 0.5).float() * stride / (height * stride)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=-1)


@MODELS.register_module()
class MSDeformAttnPixelDecoder(nn.Module):
    """Pixel decoder with a multi-scale deformable-attention encoder.

    The ``num_levels`` coarsest backbone maps (``encoder.layer_cfg.self_attn_cfg.num_levels``)
    are projected (``input_convs``, index 0 = coarsest), encoded jointly by deformable
    self-attention with sine positional codes + a learned ``level_encoding``, then the
    remaining finer maps are merged top-down FPN-style (``lateral_convs``/``output_convs``).

    Args:
        in_channels: channels of the backbone maps, fine to coarse.
        strides: their strides.
        feat_channels: channels inside the decoder.
        out_channels: channels of the mask features.
        num_outs: number of multi-scale maps returned.
        norm_cfg / act_cfg: norm and activation of the convs.
        encoder: ``dict(num_layers, layer_cfg=dict(self_attn_cfg, ffn_cfg))``.
        positional_encoding: ``SinePositionalEncoding`` arguments.
    """

    def __init__(self, in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 strides: Sequence[int] = (4, 8, 16, 32), feat_channels: int = 256,
                 out_channels: int = 256, num_outs: int = 3,
                 norm_cfg: Optional[Mapping] = None, act_cfg: Optional[Mapping] = None,
                 encoder: Optional[Mapping] = None,
                 positional_encoding: Optional[Mapping] = None,
                 init_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        reject_init_cfg(init_cfg, type(self).__name__)
        norm_cfg = dict(type='GN', num_groups=32) if norm_cfg is None else dict(norm_cfg)
        act_cfg = dict(type='ReLU') if act_cfg is None else dict(act_cfg)
        encoder = copy.deepcopy(dict(_DEFAULT_ENCODER if encoder is None else encoder))
        positional_encoding = dict(num_feats=128, normalize=True) \
            if positional_encoding is None else dict(positional_encoding)
        if len(in_channels) != len(strides):
            raise ValueError(f'in_channels {list(in_channels)} and strides {list(strides)} '
                             f'must have the same length')
        self.in_channels = list(in_channels)
        self.strides = list(strides)
        self.num_input_levels = len(in_channels)
        self.num_encoder_levels = encoder['layer_cfg']['self_attn_cfg']['num_levels']
        if not 1 <= self.num_encoder_levels <= self.num_input_levels:
            raise ValueError(f'encoder num_levels must be in [1, {self.num_input_levels}], '
                             f'got {self.num_encoder_levels}')
        if not 1 <= num_outs <= self.num_input_levels:
            raise ValueError(f'num_outs must be in [1, {self.num_input_levels}], got {num_outs}')
        self.num_outs = num_outs

        # Encoder levels, coarsest first: input_convs[i] projects in_channels[-1 - i].
        self.encoder_level_indices = list(range(
            self.num_input_levels - 1, self.num_input_levels - self.num_encoder_levels - 1, -1))
        self.input_convs = nn.ModuleList([
            ConvModule(self.in_channels[idx], feat_channels, kernel_size=1, bias=True,
                       norm_cfg=norm_cfg, act_cfg=None)
            for idx in self.encoder_level_indices])
        self.encoder = DeformableDetrTransformerEncoder(**encoder)
        self.positional_encoding = SinePositionalEncoding(**positional_encoding)
        self.level_encoding = nn.Embedding(self.num_encoder_levels, feat_channels)

        # FPN over the finer levels, coarse to fine: lateral_convs[k] handles
        # in_channels[fpn_level_indices[k]].
        self.fpn_level_indices = list(range(
            self.num_input_levels - self.num_encoder_levels - 1, -1, -1))
        use_bias = norm_cfg is None
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for idx in self.fpn_level_indices:
            self.lateral_convs.append(ConvModule(
                self.in_channels[idx], feat_channels, kernel_size=1, bias=use_bias,
                norm_cfg=norm_cfg, act_cfg=None))
            self.output_convs.append(ConvModule(
                feat_channels, feat_channels, kernel_size=3, padding=1, bias=use_bias,
                norm_cfg=norm_cfg, act_cfg=act_cfg))
        self.mask_feature = nn.Conv2d(feat_channels, out_channels, kernel_size=1)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """mmdet's init: xavier-uniform input convs, caffe2-xavier lateral/output/mask convs
        (zero biases), N(0, 1) level encoding, xavier-normal encoder matrices, then the
        deformable attentions' own init."""
        for conv_module in self.input_convs:
            nn.init.xavier_uniform_(conv_module.conv.weight, gain=1)
            nn.init.zeros_(conv_module.conv.bias)
        caffe2_convs = [m.conv for m in (*self.lateral_convs, *self.output_convs)]
        for conv in caffe2_convs + [self.mask_feature]:
            nn.init.kaiming_uniform_(conv.weight, a=1, mode='fan_in', nonlinearity='leaky_relu')
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
        nn.init.normal_(self.level_encoding.weight, mean=0, std=1)
        for param in self.encoder.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)
        for module in self.encoder.layers.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.init_weights()

    def forward(self, feats: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Decode backbone maps.

        Args:
            feats: ``len(in_channels)`` maps (B, C_i, H_i, W_i), fine to coarse.
        Returns:
            mask_features: (B, out_channels, H_0, W_0) at the finest input stride.
            multi_scale_features: ``num_outs`` maps (B, feat_channels, h, w), coarse to fine.
        """
        if len(feats) != self.num_input_levels:
            raise ValueError(f'MSDeformAttnPixelDecoder expects {self.num_input_levels} '
                             f'feature maps, got {len(feats)}')
        batch_size = feats[0].shape[0]
        tokens, positions, reference_points, shapes = [], [], [], []
        for level, idx in enumerate(self.encoder_level_indices):
            feat = feats[idx]
            height, width = feat.shape[-2:]
            projected = self.input_convs[level](feat)
            # Batches are padded (to the largest image, then to the divisor), but the code is
            # taken over the whole padded map, as the reference does: the same frame as the
            # reference points below and the decoder's memory codes. Prompts are read in it
            # with PromptEncoder(frame='padded') (issue 14).
            no_padding = feat.new_zeros((1, height, width), dtype=torch.bool)
            position = self.positional_encoding(no_padding)
            position = self.level_encoding.weight[level].view(1, -1, 1, 1) + position
            tokens.append(projected.flatten(2).transpose(1, 2))
            positions.append(position.flatten(2).transpose(1, 2).expand(batch_size, -1, -1))
            reference_points.append(
                grid_reference_points(height, width, self.strides[idx], feat.device))
            shapes.append((height, width))
        tokens = torch.cat(tokens, dim=1)
        positions = torch.cat(positions, dim=1)
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=tokens.device)
        # Every query samples every level around the same normalised point.
        reference_points = torch.cat(reference_points, dim=0)[None, :, None].expand(
            batch_size, -1, self.num_encoder_levels, -1)
        memory = self.encoder(query=tokens, query_pos=positions, key_padding_mask=None,
                              spatial_shapes=spatial_shapes, reference_points=reference_points)

        # (B, N, C) -> per level (B, C, h, w), coarse to fine: channels-last views without a
        # copy, in a layout interpolate and the convolutions recognise (a plain reshape of
        # the transposed memory makes strides they treat as non-contiguous: 10x slower).
        per_level = memory.split([h * w for h, w in shapes], dim=1)
        outs = [level_memory.reshape(batch_size, h, w, -1).permute(0, 3, 1, 2)
                for level_memory, (h, w) in zip(per_level, shapes)]
        for k, idx in enumerate(self.fpn_level_indices):
            lateral = self.lateral_convs[k](feats[idx])
            merged = lateral + F.interpolate(outs[-1], size=lateral.shape[-2:], mode='bilinear',
                                             align_corners=False)
            outs.append(self.output_convs[k](merged))
        return self.mask_feature(outs[-1]), outs[:self.num_outs]
