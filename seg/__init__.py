"""OMG-Seg: one model for image, video, open-vocabulary and interactive segmentation."""
from .version import __version__

__all__ = ['__version__']
