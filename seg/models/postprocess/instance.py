"""Instance inference of a mask-classification model (the Mask2Former / OMG-Seg rule)."""
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from seg.structures.masks import mask_to_box
from .mask_ops import check_query_outputs


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
        mask_pred: (Q, H, W) mask logits.
        num_things_classes: labels below this are things (vocabulary ordered things first).
        max_per_image: number of (query, class) candidates kept before the thing filter.

    Returns:
        ``InstanceData`` with ``masks`` (n, H, W) bool, ``labels`` (n,) int64, ``scores`` (n,)
        float, ``bboxes`` (n, 4) float x1, y1, x2, y2 (empty mask -> zeros), ordered by
        descending class probability.
    """
    check_query_outputs(mask_cls, mask_pred)
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
    top_probs = top_probs[is_thing]
    top_labels = top_labels[is_thing]
    top_queries = top_queries[is_thing]

    # A query can be picked with several classes: binarise and score each query once.
    unique_queries, candidate_to_unique = torch.unique(top_queries, return_inverse=True)
    query_logits = mask_pred[unique_queries]
    query_masks = query_logits > 0
    mask_float = query_masks.to(query_logits.dtype)
    mask_scores = ((query_logits.sigmoid() * mask_float).flatten(1).sum(1)
                   / (mask_float.flatten(1).sum(1) + 1e-6))
    query_bboxes = mask_to_box(query_masks)

    results = InstanceData()
    results.masks = query_masks[candidate_to_unique]
    results.labels = top_labels
    results.scores = top_probs * mask_scores[candidate_to_unique]
    results.bboxes = query_bboxes[candidate_to_unique]
    return results
