"""Instance inference of a mask-classification model (the Mask2Former / OMG-Seg rule)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from seg.structures.masks import mask_to_box
from .mask_ops import check_query_outputs
from .query_sweep import count_true, sweep_queries


def instance_postprocess(mask_cls: Tensor,
                         mask_pred: Tensor,
                         num_things_classes: int,
                         max_per_image: int = 100) -> InstanceData:
    """Turn one image's query predictions into scored thing instances.

    Every (query, class) pair is a candidate with the class probability (softmax over K+1,
    no-object column dropped); the top ``max_per_image`` pairs (at most Q*K) are taken and
    those with a stuff label dropped. Mask = logit > 0; score = class probability x mean
    sigmoid inside the mask (``sum / (area + 1e-6)``, so an empty mask scores 0).

    Args:
        mask_cls: (Q, K+1) class logits, last column = no-object.
        mask_pred: (Q, H, W) mask logits (or a :class:`QueryMasks`: only the selected
            queries are resized).
        num_things_classes: labels below this are things (vocabulary ordered things first).
        max_per_image: number of (query, class) candidates kept before the thing filter.

    Returns:
        ``InstanceData`` with ``masks`` (n, H, W) bool, ``labels`` (n,) int64, ``scores`` (n,)
        float, ``bboxes`` (n, 4) float x1, y1, x2, y2 (empty mask -> zeros), ordered by
        descending class probability.
    """
    check_query_outputs(mask_cls, mask_pred)
    rule = InstanceRule(mask_cls, mask_pred.shape[-2:], num_things_classes, max_per_image)
    return sweep_queries(mask_pred, [rule])[0]


class InstanceRule:
    """:func:`instance_postprocess` as a rule of :func:`sweep_queries`: reads the queries of
    the top candidates, each once however many classes picked it."""

    def __init__(self, mask_cls: Tensor, mask_shape: Tuple[int, int], num_things_classes: int,
                 max_per_image: int = 100) -> None:
        if max_per_image < 1:
            raise ValueError(f'max_per_image must be positive, got {max_per_image}')
        num_classes = mask_cls.shape[1] - 1
        if not 0 <= num_things_classes <= num_classes:
            raise ValueError(
                f'num_things_classes={num_things_classes} is outside [0, {num_classes}] '
                f'(mask_cls has {num_classes} classes)')
        class_probs = F.softmax(mask_cls, dim=-1)[:, :-1]
        num_candidates = min(max_per_image, class_probs.numel())
        top_probs, top_indices = class_probs.flatten().topk(num_candidates, sorted=True)
        top_labels = top_indices % num_classes
        top_queries = top_indices // num_classes
        is_thing = top_labels < num_things_classes
        self.probs = top_probs[is_thing]
        self.labels = top_labels[is_thing]
        # A query can be picked with several classes: its mask is binarised and scored once.
        self.queries, self.candidate_to_query = torch.unique(top_queries[is_thing],
                                                             return_inverse=True)
        num_queries, device = len(self.queries), mask_cls.device
        self.masks = torch.zeros((num_queries, int(mask_shape[0]), int(mask_shape[1])),
                                 dtype=torch.bool, device=device)
        self.area = torch.zeros(num_queries, dtype=torch.long, device=device)
        self.inside = torch.zeros(num_queries, dtype=mask_cls.dtype, device=device)

    def update(self, start: int, stop: int, logits: Tensor, probs: Tensor) -> None:
        masks = logits > 0
        self.masks[:, start:stop] = masks
        mask_float = masks.to(probs.dtype)
        self.area += count_true(mask_float)
        self.inside += (probs * mask_float).flatten(1).sum(1).to(self.inside.dtype)

    def result(self) -> InstanceData:
        mask_scores = self.inside / (self.area.to(self.inside.dtype) + 1e-6)
        results = InstanceData()
        results.masks = self.masks[self.candidate_to_query]
        results.labels = self.labels
        results.scores = self.probs * mask_scores[self.candidate_to_query]
        results.bboxes = mask_to_box(self.masks)[self.candidate_to_query]
        return results
