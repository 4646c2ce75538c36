"""Models: importing this package registers every model component in ``seg.registry``."""
from . import backbones, heads, layers, losses, matching, pixel_decoders, postprocess  # noqa: F401
from .data_preprocessor import SegDataPreprocessor
from .segmentor import OMGSegmentor

__all__ = ['OMGSegmentor', 'SegDataPreprocessor']
