"""Dice loss between predicted and target masks (mmdet ``dice_loss`` / ``DiceLoss``)."""
from typing import Optional, Union

import torch.nn as nn
from torch import Tensor

from seg.registry import MODELS
from .utils import check_reduction, weight_reduce_loss


def dice_loss(pred: Tensor, target: Tensor, weight: Optional[Tensor] = None, eps: float = 1e-3,
              reduction: str = 'mean', naive_dice: bool = False,
              avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Per-mask dice loss in float32, one value per row of ``pred``.

    With ``a = sum(p * t)``:
    naive: ``1 - (2a + eps) / (sum(p) + sum(t) + eps)`` (V-Net style squares otherwise:
    ``1 - 2a / ((sum(p^2) + eps) + (sum(t^2) + eps))``).

    Args:
        pred: (N, ...) probabilities (already activated).
        target: (N, ...) binary targets with the same number of elements per row.
        weight: (N,) per-mask weights.
        eps: smoothing term.
        reduction, avg_factor: mmdet's ``weight_reduce_loss`` semantics.
        naive_dice: use the linear (not squared) denominator.
    """
    if pred.shape[0] != target.shape[0] or pred[0:1].numel() != target[0:1].numel():
        raise ValueError(f'dice_loss: pred shape {tuple(pred.shape)} and target shape '
                         f'{tuple(target.shape)} do not match')
    pred = pred.flatten(1).float()
    target = target.flatten(1).float()
    overlap = (pred * target).sum(1)
    if naive_dice:
        loss = 1 - (2 * overlap + eps) / (pred.sum(1) + target.sum(1) + eps)
    else:
        loss = 1 - 2 * overlap / ((pred * pred).sum(1) + eps + (target * target).sum(1) + eps)
    if weight is not None:
        if weight.shape != loss.shape:
            raise ValueError(f'dice_loss: weight must have shape {tuple(loss.shape)} (one per '
                             f'mask), got {tuple(weight.shape)}')
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class DiceLoss(nn.Module):
    """mmdet's ``DiceLoss``.

    Args:
        use_sigmoid: activation applied when ``activate`` (only sigmoid is supported).
        activate: apply the sigmoid to ``pred`` (pass logits); ``False`` expects probabilities.
        reduction: default reduction.
        naive_dice: linear denominator (Mask2Former uses ``True``).
        loss_weight: multiplier of the loss.
        eps: smoothing term (Mask2Former uses 1.0).
    """

    def __init__(self, use_sigmoid: bool = True, activate: bool = True, reduction: str = 'mean',
                 naive_dice: bool = False, loss_weight: float = 1.0, eps: float = 1e-3) -> None:
        super().__init__()
        if activate and not use_sigmoid:
            raise ValueError('DiceLoss: only the sigmoid activation is supported '
                             '(use_sigmoid=True or activate=False)')
        self.use_sigmoid = use_sigmoid
        self.activate = activate
        self.reduction = check_reduction(reduction)
        self.naive_dice = naive_dice
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of (N, ...) mask logits (or probabilities) against (N, ...) binary targets."""
        reduction = check_reduction(reduction_override or self.reduction)
        pred = pred.float()
        if self.activate:
            pred = pred.sigmoid()
        return self.loss_weight * dice_loss(pred, target, weight, self.eps, reduction,
                                            self.naive_dice, avg_factor)

    def extra_repr(self) -> str:
        return (f'naive_dice={self.naive_dice}, eps={self.eps}, reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')
