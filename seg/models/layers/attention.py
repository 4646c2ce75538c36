"""Multi-head attention with mmcv 2.x ``MultiheadAttention`` semantics and parameter names."""
from typing import Optional

import torch
import torch.nn as nn


class MultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` (attribute ``attn``) with positional codes and a residual.

    ``query_pos`` is added to the query and ``key_pos`` to the key (if ``key_pos`` is None and
    ``query_pos`` has the key's shape, ``query_pos`` is used for the key too, as mmcv does);
    the value gets no positional code. Output = ``identity + dropout(attn(...))``.

    Args:
        embed_dims: channels.
        num_heads: heads.
        attn_drop: dropout on the attention weights.
        proj_drop: dropout on the attention output.
        batch_first: inputs are (B, N, C) if True, else (N, B, C).
        dropout: mmcv's legacy argument; if given it sets ``attn_drop`` and the residual-branch
            dropout (mmdet configs use ``dropout=0.0``).
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.,
                 proj_drop: float = 0., batch_first: bool = True,
                 dropout: Optional[float] = None) -> None:
        super().__init__()
        residual_drop = 0.
        if dropout is not None:
            attn_drop = residual_drop = dropout
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.batch_first = batch_first
        # Sequence-first inside, as mmcv builds it; the transposes happen in forward.
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=attn_drop)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = nn.Dropout(residual_drop)

    def forward(self, query: torch.Tensor, key: Optional[torch.Tensor] = None,
                value: Optional[torch.Tensor] = None, identity: Optional[torch.Tensor] = None,
                query_pos: Optional[torch.Tensor] = None, key_pos: Optional[torch.Tensor] = None,
                attn_mask: Optional[torch.Tensor] = None,
                key_padding_mask: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        """Attention of ``query`` over ``key``/``value``.

        Args:
            query: (B, Q, C) (``batch_first``) or (Q, B, C).
            key: defaults to ``query``; value defaults to ``key``.
            identity: residual; defaults to ``query`` (without ``query_pos``).
            attn_mask: bool (Q, K) or (B * heads, Q, K), True = blocked; or an additive float
                mask of the same shapes.
            key_padding_mask: (B, K) bool, True = ignored key.
            kwargs: other layer arguments, ignored as mmcv does.
        Returns:
            same shape as ``query``.
        """
        if key is None:
            key = query
        if value is None:
            value = key
        if identity is None:
            identity = query
        if key_pos is None and query_pos is not None and query_pos.shape == key.shape:
            key_pos = query_pos
        if query_pos is not None:
            query = query + query_pos
        if key_pos is not None:
            key = key + key_pos
        if self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        # need_weights stays at its default (True), the reference's explicit-softmax path:
        # bit-identical to mmcv, whereas the fused path moves outputs by ~1e-6, enough to flip
        # near-zero mask decisions downstream.
        out = self.attn(query=query, key=key, value=value, attn_mask=attn_mask,
                        key_padding_mask=key_padding_mask)[0]
        if self.batch_first:
            out = out.transpose(0, 1)
        return identity + self.dropout_layer(self.proj_drop(out))
