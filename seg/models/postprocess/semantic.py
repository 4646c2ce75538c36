"""Semantic inference of a mask-classification model (the Mask2Former rule)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .mask_ops import check_query_outputs
from .query_sweep import sweep_queries


def semantic_postprocess(mask_cls: Tensor, mask_pred: Tensor) -> Tensor:
    """Per-pixel class of one image: argmax over classes of sum_q p(c|q) * sigmoid(mask_q).

    Args:
        mask_cls: (Q, K+1) class logits, last column = no-object (dropped after the softmax).
        mask_pred: (Q, H, W) mask logits, or :class:`QueryMasks` (resized band by band).

    Returns:
        (H, W) int64 map of class indices in [0, K).
    """
    check_query_outputs(mask_cls, mask_pred)
    return sweep_queries(mask_pred, [SemanticRule(mask_cls, mask_pred.shape[-2:])])[0]


class SemanticRule:
    """:func:`semantic_postprocess` as a rule of :func:`sweep_queries`: reads every query and
    scores the classes band by band ((K, band) = p^T sigmoid), so the K class scores exist
    for one band only, never K x H x W (nor Q x H x W masks)."""

    def __init__(self, mask_cls: Tensor, mask_shape: Tuple[int, int]) -> None:
        self.class_probs = F.softmax(mask_cls, dim=-1)[:, :-1]
        self.queries = torch.arange(len(mask_cls), device=mask_cls.device)
        self.classes = torch.zeros((int(mask_shape[0]), int(mask_shape[1])), dtype=torch.long,
                                   device=mask_cls.device)

    def update(self, start: int, stop: int, logits: Tensor, probs: Tensor) -> None:
        scores = self.class_probs.T.to(probs.dtype) @ probs.flatten(1)
        # max(0).indices == argmax(0) (first maximum) but faster on CPU for few classes.
        self.classes[start:stop] = scores.max(0).indices.view(stop - start, -1)

    def result(self) -> Tensor:
        if len(self.queries) == 0:
            raise ValueError('the semantic rule needs at least one query')
        return self.classes
