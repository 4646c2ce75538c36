"""Pairwise match costs between Q predictions and G ground truths (mmdet's names and formulas).

Every cost is called as ``cost(pred, gt) -> (Q, G)`` with plain dicts:
``pred['scores']`` (Q, C) class logits, ``pred['masks']`` (Q, P) mask logits at sampled points,
``gt['labels']`` (G,) class indices, ``gt['masks']`` (G, P) 0/1 targets at the same points.
Costs are computed in float32 with autocast off: they only feed the Hungarian matching.
"""
from typing import Mapping, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from seg.registry import TASK_UTILS


def get_field(container: Mapping[str, Tensor], key: str, owner: str) -> Tensor:
    """``container[key]`` with an error naming the cost that needs it."""
    if key not in container:
        raise KeyError(f'{owner} needs {key!r}; got keys {sorted(container)}')
    return container[key]


def flatten_point_masks(pred: Mapping[str, Tensor], gt: Mapping[str, Tensor],
                        owner: str) -> tuple:
    """Mask logits (Q, P) and targets (G, P) as float32, after checking P agrees and is > 0."""
    pred_masks = get_field(pred, 'masks', owner).flatten(1).float()
    gt_masks = get_field(gt, 'masks', owner).flatten(1).float()
    if pred_masks.shape[1] != gt_masks.shape[1] or pred_masks.shape[1] == 0:
        raise ValueError(f'{owner}: predicted masks have {pred_masks.shape[1]} points per mask and '
                         f'ground-truth masks {gt_masks.shape[1]}; they must agree and be > 0')
    return pred_masks, gt_masks


def pairwise_dot(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b.T`` in float32 even under autocast."""
    with torch.autocast(device_type=a.device.type, enabled=False):
        return a.float() @ b.float().t()


class BaseMatchCost:
    """A cost term: ``weight`` times a (Q, G) cost matrix."""

    def __init__(self, weight: Union[float, int] = 1.0) -> None:
        self.weight = float(weight)

    def __call__(self, pred: Mapping[str, Tensor], gt: Mapping[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f'{type(self).__name__}(weight={self.weight})'


@TASK_UTILS.register_module()
class ClassificationCost(BaseMatchCost):
    """``-softmax(scores)[:, gt_labels] * weight``.

    Args:
        weight: cost weight.
        num_extra_columns: trailing score columns that are not class logits (OMG-Seg appends an
            objectness logit); the softmax runs over the first ``C - num_extra_columns`` columns
            (K classes + background) and labels must index those.
    """

    def __init__(self, weight: Union[float, int] = 1.0, num_extra_columns: int = 0) -> None:
        super().__init__(weight)
        if num_extra_columns < 0:
            raise ValueError(f'num_extra_columns must be >= 0, got {num_extra_columns}')
        self.num_extra_columns = num_extra_columns

    def __call__(self, pred: Mapping[str, Tensor], gt: Mapping[str, Tensor]) -> Tensor:
        owner = type(self).__name__
        scores = get_field(pred, 'scores', owner)
        labels = get_field(gt, 'labels', owner)
        if scores.dim() != 2:
            raise ValueError(f'{owner}: scores must be (Q, C), got shape {tuple(scores.shape)}')
        num_class_columns = scores.shape[1] - self.num_extra_columns
        if num_class_columns < 1:
            raise ValueError(f'{owner}: scores have {scores.shape[1]} columns, fewer than '
                             f'num_extra_columns + 1 = {self.num_extra_columns + 1}')
        if labels.numel() and (labels.min() < 0 or labels.max() >= num_class_columns):
            raise ValueError(f'{owner}: gt labels must be in [0, {num_class_columns}), got values '
                             f'in [{int(labels.min())}, {int(labels.max())}]')
        probs = scores[:, :num_class_columns].float().softmax(-1)
        return -probs[:, labels.long()] * self.weight

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(weight={self.weight}, '
                f'num_extra_columns={self.num_extra_columns})')


@TASK_UTILS.register_module()
class FlexibleClassificationCost(ClassificationCost):
    """OMG-Seg's name for the classification cost with one trailing objectness column."""

    def __init__(self, weight: Union[float, int] = 1.0) -> None:
        super().__init__(weight, num_extra_columns=1)


@TASK_UTILS.register_module()
class CrossEntropyLossCost(BaseMatchCost):
    """Mean sigmoid BCE over points: ``(bce(x, 1) @ gt.T + bce(x, 0) @ (1 - gt).T) / P``."""

    def __init__(self, weight: Union[float, int] = 1.0, use_sigmoid: bool = True) -> None:
        super().__init__(weight)
        if not use_sigmoid:
            raise ValueError('CrossEntropyLossCost: only use_sigmoid=True is supported')
        self.use_sigmoid = use_sigmoid

    def __call__(self, pred: Mapping[str, Tensor], gt: Mapping[str, Tensor]) -> Tensor:
        logits, targets = flatten_point_masks(pred, gt, type(self).__name__)
        loss_if_positive = F.softplus(-logits)  # BCE-with-logits against target 1
        loss_if_negative = F.softplus(logits)  # ... and against target 0
        cost = pairwise_dot(loss_if_positive, targets) + pairwise_dot(loss_if_negative, 1 - targets)
        return cost / logits.shape[1] * self.weight


@TASK_UTILS.register_module()
class DiceCost(BaseMatchCost):
    """``1 - (2 p.g + eps) / (|p| + |g| + eps)`` per pair (squared norms if not ``naive_dice``).

    Args:
        weight: cost weight.
        pred_act: apply the sigmoid to the mask logits first.
        eps: smoothing term.
        naive_dice: linear sums in the denominator.
    """

    def __init__(self, weight: Union[float, int] = 1.0, pred_act: bool = False, eps: float = 1e-3,
                 naive_dice: bool = True) -> None:
        super().__init__(weight)
        self.pred_act = pred_act
        self.eps = eps
        self.naive_dice = naive_dice

    def __call__(self, pred: Mapping[str, Tensor], gt: Mapping[str, Tensor]) -> Tensor:
        pred_masks, gt_masks = flatten_point_masks(pred, gt, type(self).__name__)
        if self.pred_act:
            pred_masks = pred_masks.sigmoid()
        numerator = 2 * pairwise_dot(pred_masks, gt_masks)
        if self.naive_dice:
            denominator = pred_masks.sum(1)[:, None] + gt_masks.sum(1)[None, :]
        else:
            denominator = pred_masks.pow(2).sum(1)[:, None] + gt_masks.pow(2).sum(1)[None, :]
        return (1 - (numerator + self.eps) / (denominator + self.eps)) * self.weight

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(weight={self.weight}, pred_act={self.pred_act}, '
                f'eps={self.eps}, naive_dice={self.naive_dice})')
