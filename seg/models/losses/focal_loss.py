"""Sigmoid focal loss (mmdet ``FocalLoss``), pure PyTorch."""
from typing import Optional, Union

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from seg.registry import MODELS
from .utils import check_reduction, weight_reduce_loss


def labels_to_one_hot(labels: Tensor, num_classes: int) -> Tensor:
    """(N,) labels in ``[0, num_classes]`` -> (N, num_classes) float one-hot.

    The label ``num_classes`` is background: its row is all zeros.
    """
    if labels.numel() and (labels.min() < 0 or labels.max() > num_classes):
        raise ValueError(f'focal loss labels must be in [0, {num_classes}] ({num_classes} = '
                         f'background), got values in [{int(labels.min())}, {int(labels.max())}]')
    return F.one_hot(labels.long(), num_classes + 1)[:, :num_classes].float()


def sigmoid_focal_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                       gamma: float = 2.0, alpha: float = 0.25, reduction: str = 'mean',
                       avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Focal loss on sigmoid logits, in float32.

    ``loss = BCE(p, t) * (alpha t + (1 - alpha)(1 - t)) * pt^gamma`` with
    ``pt = (1 - p) t + p (1 - t)``.

    Args:
        pred: (N, C) logits.
        target: (N,) integer labels in ``[0, C]`` (``C`` = background) or (N, C) float targets.
        weight: (N,) per-sample or (N, C) per-element weights.
        gamma, alpha: focusing and balance parameters.
        reduction, avg_factor: mmdet's ``weight_reduce_loss`` semantics.
    """
    if pred.dim() != 2:
        raise ValueError(f'sigmoid_focal_loss: pred must be (N, C), got shape {tuple(pred.shape)}')
    if target.dim() == 1 and not target.is_floating_point():
        if target.shape[0] != pred.shape[0]:
            raise ValueError(f'sigmoid_focal_loss: {target.shape[0]} labels for '
                             f'{pred.shape[0]} predictions')
        target = labels_to_one_hot(target, pred.shape[1])
    elif target.shape != pred.shape:
        raise ValueError(f'sigmoid_focal_loss: target must be (N,) integer labels or match pred '
                         f'shape {tuple(pred.shape)}, got {tuple(target.shape)} {target.dtype}')
    pred = pred.float()
    target = target.float()
    prob = pred.sigmoid()
    pt = (1 - prob) * target + prob * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight
    if weight is not None:
        if weight.shape == loss.shape[:1]:
            weight = weight.reshape(-1, 1)
        elif weight.shape != loss.shape:
            raise ValueError(f'sigmoid_focal_loss: weight must be (N,) or {tuple(loss.shape)}, '
                             f'got {tuple(weight.shape)}')
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class FocalLoss(nn.Module):
    """mmdet's ``FocalLoss`` (sigmoid only).

    OMG-Seg's objectness branch uses it with one class: pred (Q, 1), target 0 for a query matched
    to a ground truth (positive) and 1 (= background) for no-object.
    """

    def __init__(self, use_sigmoid: bool = True, gamma: float = 2.0, alpha: float = 0.25,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        if not use_sigmoid:
            raise ValueError(
                'FocalLoss: only the sigmoid focal loss is supported (use_sigmoid=True)')
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (N, C) logits against (N,) labels (``C`` = background) or (N, C) targets."""
        reduction = check_reduction(reduction_override or self.reduction)
        return self.loss_weight * sigmoid_focal_loss(pred, target, weight, self.gamma, self.alpha,
                                                     reduction, avg_factor)

    def extra_repr(self) -> str:
        return (f'gamma={self.gamma}, alpha={self.alpha}, reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')
