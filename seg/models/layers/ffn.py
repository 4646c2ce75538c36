"""Feed-forward block with mmcv 2.x ``FFN`` semantics and parameter names."""
from typing import Mapping, Optional

import torch
import torch.nn as nn

from .builders import build_activation_layer


class FFN(nn.Module):
    """``num_fcs`` Linear layers with activation + dropout between them, plus a residual.

    Parameter names follow mmcv: with ``num_fcs=2`` the first Linear is ``layers.0.0`` and the
    last is ``layers.1`` (``layers.0`` = Sequential(Linear, act, Dropout), then the last
    Linear, then a Dropout).

    Args:
        embed_dims: input and output channels.
        feedforward_channels: hidden channels.
        num_fcs: number of Linear layers (>= 2).
        act_cfg: activation config, e.g. ``dict(type='ReLU', inplace=True)``.
        ffn_drop: dropout after each hidden activation and after the last Linear.
        add_identity: add the residual (``identity`` or the input).
    """

    def __init__(self, embed_dims: int = 256, feedforward_channels: int = 1024,
                 num_fcs: int = 2, act_cfg: Optional[Mapping] = None, ffn_drop: float = 0.,
                 add_identity: bool = True) -> None:
        super().__init__()
        if num_fcs < 2:
            raise ValueError(f'FFN needs num_fcs >= 2, got {num_fcs}')
        act_cfg = dict(type='ReLU', inplace=True) if act_cfg is None else act_cfg
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.add_identity = add_identity
        layers = []
        in_channels = embed_dims
        for _ in range(num_fcs - 1):
            layers.append(nn.Sequential(nn.Linear(in_channels, feedforward_channels),
                                        build_activation_layer(act_cfg), nn.Dropout(ffn_drop)))
            in_channels = feedforward_channels
        layers.append(nn.Linear(feedforward_channels, embed_dims))
        layers.append(nn.Dropout(ffn_drop))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, identity: Optional[torch.Tensor] = None) -> torch.Tensor:
        out = self.layers(x)
        if not self.add_identity:
            return out
        return (x if identity is None else identity) + out
