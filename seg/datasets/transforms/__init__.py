"""Data pipeline steps (numpy + OpenCV), registered in ``seg.registry.TRANSFORMS``."""
from .base import BaseTransform
from .formatting import PackSegInputs
from .geometric import RandomCrop, RandomFlip, RandomResize, Resize, keep_ratio_size, resize_nearest
from .loading import FilterAnnotations, LoadImageFromFile, LoadPanopticAnnotations

__all__ = [
    'BaseTransform', 'LoadImageFromFile', 'LoadPanopticAnnotations', 'FilterAnnotations',
    'Resize', 'RandomResize', 'RandomCrop', 'RandomFlip', 'PackSegInputs', 'keep_ratio_size',
    'resize_nearest'
]
