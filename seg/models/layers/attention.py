"""Multi-head attention with mmcv 2.x ``MultiheadAttention`` semantics and parameter names."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

#: ``impl`` values of :class:`MultiheadAttention`.
ATTENTION_IMPLS = ('sdpa', 'math')


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
        impl: ``'sdpa'`` (default): the same projections around
            ``torch.nn.functional.scaled_dot_product_attention`` (fused kernels, no (B, heads,
            Q, K) weight tensor kept); ``'math'``: ``nn.MultiheadAttention``'s explicit-softmax
            path, bit-identical to mmcv. They differ by float rounding (~1e-6); the reference
            case passes with either. One difference: a query whose keys are all blocked gets
            zeros from ``'sdpa'`` and NaN from ``'math'`` (the decoder never sends such rows:
            it un-masks them first, as Mask2Former does).
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.,
                 proj_drop: float = 0., batch_first: bool = True,
                 dropout: Optional[float] = None, impl: str = 'sdpa') -> None:
        super().__init__()
        if impl not in ATTENTION_IMPLS:
            raise ValueError(f'impl must be one of {ATTENTION_IMPLS}, got {impl!r}')
        self.impl = impl
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
            attn_mask: bool (Q, K), (B * heads, Q, K) or (B, 1 or heads, Q, K), True =
                blocked; or an additive float mask of the same shapes. (B, 1, Q, K) shares
                one mask among the heads without repeating it (the decoder's cross-attention).
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
        if self.impl == 'sdpa':
            if not self.batch_first:
                query, key, value = (query.transpose(0, 1), key.transpose(0, 1),
                                     value.transpose(0, 1))
            out = self._sdpa(query, key, value, attn_mask, key_padding_mask)
            if not self.batch_first:
                out = out.transpose(0, 1)
            return identity + self.dropout_layer(self.proj_drop(out))
        if self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if attn_mask is not None and attn_mask.dim() == 4:  # nn.MultiheadAttention: 2D / 3D
            attn_mask = attn_mask.expand(-1, self.num_heads, -1, -1).flatten(0, 1)
        # need_weights stays at its default (True): the explicit-softmax path, bit-identical to
        # mmcv.
        out = self.attn(query=query, key=key, value=value, attn_mask=attn_mask,
                        key_padding_mask=key_padding_mask)[0]
        if self.batch_first:
            out = out.transpose(0, 1)
        return identity + self.dropout_layer(self.proj_drop(out))

    def _sdpa(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
              attn_mask: Optional[torch.Tensor],
              key_padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Batch-first (B, Q, C) attention through ``scaled_dot_product_attention`` with
        ``self.attn``'s parameters and mask conventions (bool True = blocked, or additive)."""
        batch, num_queries, channels = query.shape
        heads = self.num_heads
        weight, bias = self.attn.in_proj_weight, self.attn.in_proj_bias
        w_q, w_k, w_v = weight.chunk(3)
        b_q, b_k, b_v = bias.chunk(3) if bias is not None else (None, None, None)

        def split(tokens):  # (B, N, C) -> (B, heads, N, C / heads)
            return tokens.unflatten(-1, (heads, -1)).transpose(1, 2)

        q = split(F.linear(query, w_q, b_q))
        k = split(F.linear(key, w_k, b_k))
        v = split(F.linear(value, w_v, b_v))
        mask = None
        if attn_mask is not None:
            # (Q, K), (B * heads, Q, K) or (B, 1 | heads, Q, K) -> broadcastable to
            # (B, heads, Q, K); a shared (B, 1, Q, K) mask is converted once, not per head.
            mask = (attn_mask if attn_mask.dim() in (2, 4)
                    else attn_mask.unflatten(0, (batch, heads)))
            mask = ~mask if mask.dtype == torch.bool else mask.to(q.dtype)
        if key_padding_mask is not None:
            keep = ~key_padding_mask.bool()[:, None, None, :]
            if mask is None:
                mask = keep
            elif mask.dtype == torch.bool:
                mask = mask & keep
            else:
                mask = mask.masked_fill(~keep, float('-inf'))
        dropout = self.attn.dropout if self.training else 0.
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        out = out.transpose(1, 2).flatten(2)
        return F.linear(out, self.attn.out_proj.weight, self.attn.out_proj.bias)
