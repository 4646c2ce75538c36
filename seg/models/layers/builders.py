"""Small builders for the mmcv-style ``act_cfg`` / ``norm_cfg`` dicts used by the layers.

Only what the model uses is supported; anything else raises a ``KeyError`` naming the type.
"""
from typing import Mapping, Optional, Tuple

import torch.nn as nn

# mmcv's attribute name for each norm type (it decides the state-dict key, e.g. `gn.weight`).
_NORM_ABBREVIATIONS = {'GN': 'gn', 'BN': 'bn', 'BN2d': 'bn', 'LN': 'ln', 'SyncBN': 'bn'}
_ACTIVATIONS = {'ReLU': nn.ReLU, 'GELU': nn.GELU, 'SiLU': nn.SiLU, 'LeakyReLU': nn.LeakyReLU}


def build_activation_layer(act_cfg: Mapping) -> nn.Module:
    """``dict(type='ReLU', inplace=True)`` -> ``nn.ReLU(inplace=True)``."""
    cfg = dict(act_cfg)
    act_type = cfg.pop('type', None)
    if act_type not in _ACTIVATIONS:
        raise KeyError(f'unsupported activation type {act_type!r} in act_cfg={dict(act_cfg)}; '
                       f'known: {sorted(_ACTIVATIONS)}')
    if act_type == 'GELU':
        cfg.pop('inplace', None)  # nn.GELU has no inplace flag
    return _ACTIVATIONS[act_type](**cfg)


def build_norm_layer(norm_cfg: Mapping, num_features: int) -> Tuple[str, nn.Module]:
    """Return (mmcv attribute name, module) for ``norm_cfg`` over ``num_features`` channels."""
    cfg = dict(norm_cfg)
    norm_type = cfg.pop('type', None)
    if norm_type not in _NORM_ABBREVIATIONS:
        raise KeyError(f'unsupported norm type {norm_type!r} in norm_cfg={dict(norm_cfg)}; '
                       f'known: {sorted(_NORM_ABBREVIATIONS)}')
    cfg.pop('requires_grad', None)
    if norm_type == 'GN':
        if 'num_groups' not in cfg:
            raise KeyError(f'norm_cfg={dict(norm_cfg)} needs `num_groups` for GroupNorm')
        module = nn.GroupNorm(num_channels=num_features, **cfg)
    elif norm_type == 'LN':
        module = nn.LayerNorm(num_features, **cfg)
    else:
        module = nn.BatchNorm2d(num_features, **cfg)
    return _NORM_ABBREVIATIONS[norm_type], module


class ConvModule(nn.Module):
    """Conv2d -> optional norm -> optional activation, with mmcv's ``ConvModule`` names.

    Parameters live under ``conv`` and the norm's mmcv abbreviation (``gn`` for GroupNorm), so
    state dicts of mmcv models load unchanged. ``bias='auto'`` drops the conv bias when a norm
    follows, as mmcv does.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias='auto', norm_cfg: Optional[Mapping] = None,
                 act_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        if bias == 'auto':
            bias = norm_cfg is None
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=bias)
        self.norm_name = None
        if norm_cfg is not None:
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        self.activate = build_activation_layer(act_cfg) if act_cfg is not None else None

    def forward(self, x):
        x = self.conv(x)
        if self.norm_name is not None:
            x = getattr(self, self.norm_name)(x)
        if self.activate is not None:
            x = self.activate(x)
        return x
