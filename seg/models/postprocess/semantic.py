"""Semantic inference of a mask-classification model (the Mask2Former rule)."""
import torch
import torch.nn.functional as F
from torch import Tensor

from .mask_ops import check_query_outputs
from .query_sweep import sweep_queries


def semantic_postprocess(mask_cls: Tensor, mask_pred: Tensor) -> Tensor:
    """Per-pixel class of one image: argmax over classes of sum_q p(c|q) * sigmoid(mask_q).

    Args:
        mask_cls: (Q, K+1) class logits, last column = no-object (dropped after the softmax).
        mask_pred: (Q, H, W) mask logits, or :class:`QueryMasks` (resized chunk by chunk).

    Returns:
        (H, W) int64 map of class indices in [0, K).
    """
    check_query_outputs(mask_cls, mask_pred)
    return sweep_queries(mask_pred, [SemanticRule(mask_cls)])[0]


class SemanticRule:
    """:func:`semantic_postprocess` as a rule of :func:`sweep_queries`: reads every query and
    accumulates the class scores in place ((K, H*W) += p^T sigmoid), so one K x H x W buffer
    exists, never Q x H x W masks or per-chunk K x H x W results."""

    def __init__(self, mask_cls: Tensor) -> None:
        self.class_probs = F.softmax(mask_cls, dim=-1)[:, :-1]
        self.queries = torch.arange(len(mask_cls), device=mask_cls.device)
        self.class_maps = None
        self.shape = None
        self.seen = 0

    def update(self, logits: Tensor, probs: Tensor) -> None:
        weights = self.class_probs[self.seen:self.seen + len(probs)].T
        self.seen += len(probs)
        scores = probs.flatten(1)
        if self.class_maps is None:
            self.shape = probs.shape[-2:]
            self.class_maps = weights @ scores
        else:
            self.class_maps.addmm_(weights, scores)

    def result(self) -> Tensor:
        if self.class_maps is None:
            raise ValueError('the semantic rule needs at least one query')
        # max(0).indices == argmax(0) (first maximum) but faster on CPU for few classes.
        return self.class_maps.unflatten(1, self.shape).max(0).indices
