"""Losses of the Mask2Former-style head, with mmdet's config names and semantics."""
from .cross_entropy_loss import CrossEntropyLoss, binary_cross_entropy, cross_entropy
from .dice_loss import DiceLoss, dice_loss
from .focal_loss import FocalLoss, sigmoid_focal_loss
from .utils import reduce_loss, weight_reduce_loss

__all__ = [
    'CrossEntropyLoss', 'DiceLoss', 'FocalLoss', 'binary_cross_entropy', 'cross_entropy',
    'dice_loss', 'reduce_loss', 'sigmoid_focal_loss', 'weight_reduce_loss'
]
