"""Cross-entropy losses: softmax CE for classification, sigmoid BCE for mask points (mmdet)."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from seg.registry import MODELS
from .utils import check_reduction, weight_reduce_loss

DEFAULT_IGNORE_INDEX = -100  # torch's own default for F.cross_entropy


def cross_entropy(pred: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                  reduction: str = 'mean', avg_factor: Optional[Union[float, Tensor]] = None,
                  class_weight: Optional[Tensor] = None,
                  ignore_index: int = DEFAULT_IGNORE_INDEX,
                  avg_non_ignore: bool = False) -> Tensor:
    """Softmax cross-entropy in float32.

    Args:
        pred: (N, C) logits.
        label: (N,) class indices; ``ignore_index`` entries contribute zero.
        weight: (N,) per-sample weights.
        reduction: ``none`` / ``mean`` / ``sum``.
        avg_factor: divisor of the summed loss for ``mean`` (Mask2Former passes the sum of the
            class weights of the targets, which makes the loss a class-weighted mean).
        class_weight: (C,) weight of each target class, multiplied into the per-sample loss.
        ignore_index: label value to skip.
        avg_non_ignore: without ``avg_factor``, average over non-ignored samples only.
    """
    if pred.dim() < 2:
        raise ValueError(f'cross_entropy: pred must be (N, C, ...), got shape {tuple(pred.shape)}')
    if class_weight is not None and class_weight.numel() != pred.shape[1]:
        raise ValueError(f'cross_entropy: class_weight has {class_weight.numel()} entries but pred '
                         f'has {pred.shape[1]} classes')
    pred = pred.float()
    if class_weight is not None:
        class_weight = class_weight.to(device=pred.device, dtype=torch.float32)
    loss = F.cross_entropy(pred, label.long(), weight=class_weight, reduction='none',
                           ignore_index=ignore_index)
    if avg_factor is None and avg_non_ignore and reduction == 'mean':
        avg_factor = (label != ignore_index).sum().item()
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def binary_cross_entropy(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         reduction: str = 'mean',
                         avg_factor: Optional[Union[float, Tensor]] = None,
                         ignore_index: int = DEFAULT_IGNORE_INDEX,
                         avg_non_ignore: bool = False) -> Tensor:
    """Element-wise sigmoid binary cross-entropy in float32.

    Args:
        pred: logits of any shape.
        target: same shape as ``pred``, values in [0, 1]; negative values and ``ignore_index``
            mark ignored elements (weight 0), as in mmdet.
        weight: broadcastable to ``pred``.
        reduction, avg_factor, avg_non_ignore: as in :func:`cross_entropy`; Mask2Former's mask
            loss passes ``avg_factor = num_masks * num_points``.
    """
    if pred.shape != target.shape:
        raise ValueError(f'binary_cross_entropy: pred shape {tuple(pred.shape)} and target shape '
                         f'{tuple(target.shape)} differ')
    target = target.float()
    valid = ((target >= 0) & (target != ignore_index)).float()
    weight = valid if weight is None else weight.float() * valid
    if avg_factor is None and avg_non_ignore and reduction == 'mean':
        avg_factor = valid.sum().item()
    loss = F.binary_cross_entropy_with_logits(pred.float(), target, reduction='none')
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """mmdet's ``CrossEntropyLoss``: softmax CE, or sigmoid BCE with ``use_sigmoid=True``.

    Args:
        use_sigmoid: element-wise BCE on logits against same-shape targets instead of softmax CE.
        reduction: default reduction, ``none`` / ``mean`` / ``sum``.
        class_weight: per-class weights (softmax mode only).
        ignore_index: label to ignore (``None``: -100).
        loss_weight: multiplier of the loss.
        avg_non_ignore: average over non-ignored elements when no ``avg_factor`` is given.
    """

    def __init__(self, use_sigmoid: bool = False, reduction: str = 'mean',
                 class_weight: Optional[Sequence[float]] = None,
                 ignore_index: Optional[int] = None, loss_weight: float = 1.0,
                 avg_non_ignore: bool = False) -> None:
        super().__init__()
        if use_sigmoid and class_weight is not None:
            raise ValueError('CrossEntropyLoss: class_weight is only supported with '
                             'use_sigmoid=False')
        self.use_sigmoid = use_sigmoid
        self.reduction = check_reduction(reduction)
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]
        self.ignore_index = DEFAULT_IGNORE_INDEX if ignore_index is None else int(ignore_index)
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None) -> Tensor:
        """Weighted loss; ``target`` is (N,) labels (softmax) or same-shape floats (sigmoid)."""
        reduction = check_reduction(reduction_override or self.reduction)
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        if self.use_sigmoid:
            loss = binary_cross_entropy(pred, target, weight, reduction, avg_factor, ignore_index,
                                        self.avg_non_ignore)
        else:
            class_weight = None if self.class_weight is None else torch.tensor(
                self.class_weight, dtype=torch.float32, device=pred.device)
            loss = cross_entropy(pred, target, weight, reduction, avg_factor, class_weight,
                                 ignore_index, self.avg_non_ignore)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'use_sigmoid={self.use_sigmoid}, reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')
