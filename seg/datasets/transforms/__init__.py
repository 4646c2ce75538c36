"""Data pipeline steps (numpy + OpenCV), registered in ``seg.registry.TRANSFORMS``."""
from .base import BaseTransform
from .formatting import PackSegInputs
from .geometric import RandomCrop, RandomFlip, RandomResize, Resize, keep_ratio_size, resize_nearest
from .loading import FilterAnnotations, LoadImageFromFile, LoadPanopticAnnotations
from .instance_loading import LoadInstanceAnnotations, decode_segmentation
from .video import (ClipTransform, ImageToClip, LoadVideoAnnotations, PackVideoInputs,
                    VideoClipSample)
from .prompts import (AddStuffInstances, GenerateEvalClicks, GeneratePrompts,
                      PackInteractiveInputs)

__all__ = [
    'BaseTransform', 'LoadImageFromFile', 'LoadPanopticAnnotations', 'FilterAnnotations',
    'Resize', 'RandomResize', 'RandomCrop', 'RandomFlip', 'PackSegInputs', 'keep_ratio_size',
    'resize_nearest', 'AddStuffInstances', 'GeneratePrompts', 'GenerateEvalClicks',
    'PackInteractiveInputs', 'VideoClipSample', 'LoadVideoAnnotations', 'ClipTransform',
    'ImageToClip', 'PackVideoInputs', 'LoadInstanceAnnotations', 'decode_segmentation'
]
