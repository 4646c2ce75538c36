"""Semantic inference of a mask-classification model (the Mask2Former rule)."""
import torch
import torch.nn.functional as F
from torch import Tensor

from .mask_ops import check_query_outputs
from .query_masks import QueryMasks


def semantic_postprocess(mask_cls: Tensor, mask_pred: Tensor) -> Tensor:
    """Per-pixel class of one image: argmax over classes of sum_q p(c|q) * sigmoid(mask_q).

    Args:
        mask_cls: (Q, K+1) class logits, last column = no-object (dropped after the softmax).
        mask_pred: (Q, H, W) mask logits, or :class:`QueryMasks` (resized chunk by chunk).

    Returns:
        (H, W) int64 map of class indices in [0, K).
    """
    check_query_outputs(mask_cls, mask_pred)
    class_probs = F.softmax(mask_cls, dim=-1)[:, :-1]
    if isinstance(mask_pred, QueryMasks):  # resized a chunk of queries at a time
        # Accumulated in place ((K, H*W) += p^T sigmoid): one K x H x W buffer, no per-chunk
        # K x H x W results summed afterwards.
        class_maps = None
        for window, logits in mask_pred.chunks():
            scores = logits.sigmoid().flatten(1)
            if class_maps is None:
                class_maps = class_probs[window].T @ scores
            else:
                class_maps.addmm_(class_probs[window].T, scores)
        class_maps = class_maps.unflatten(1, logits.shape[-2:])
    else:
        class_maps = torch.einsum('qc,qhw->chw', class_probs, mask_pred.sigmoid())
    # max(0).indices == argmax(0) (first maximum) but faster on CPU for few classes.
    return class_maps.max(0).indices
