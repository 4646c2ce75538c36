"""Reduction shared by every loss: mmdet's ``weight_reduce_loss`` semantics."""
from typing import Optional, Union

import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is one of ``none``, ``mean``, ``sum``; raise otherwise."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss by ``none`` / ``mean`` / ``sum``."""
    check_reduction(reduction)
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def weight_reduce_loss(loss: Tensor, weight: Optional[Tensor] = None, reduction: str = 'mean',
                       avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Multiply by ``weight`` then reduce; with ``avg_factor``, ``mean`` is ``sum / avg_factor``.

    ``avg_factor`` with ``reduction='sum'`` is an error (as in mmdet); with ``'none'`` the
    element-wise loss is returned unchanged.
    """
    check_reduction(reduction)
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'sum':
        raise ValueError('avg_factor can not be used with reduction="sum"')
    if reduction == 'mean':
        # The epsilon keeps a zero avg_factor (no positives) from dividing by zero.
        return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)
    return loss
