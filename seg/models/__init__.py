"""Models: importing this package registers every model component in ``seg.registry``."""
from . import backbones, heads, layers, losses, matching, pixel_decoders, postprocess  # noqa: F401
from . import video  # noqa: F401  (VideoSegDataPreprocessor, clip modes)
from .data_preprocessor import SegDataPreprocessor
from .prompting import InteractiveTestConfig, is_prompt_batch
from .segmentor import OMGSegmentor

__all__ = ['OMGSegmentor', 'SegDataPreprocessor', 'InteractiveTestConfig', 'is_prompt_batch']
