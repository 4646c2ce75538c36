"""Models: importing this package registers every model component in ``seg.registry``."""
from . import backbones, heads, layers, losses, matching, pixel_decoders, postprocess  # noqa: F401
from . import tasks, video  # noqa: F401  (VideoSegDataPreprocessor, video inference)
from .data_preprocessor import SegDataPreprocessor
from .segmentor import OMGSegmentor
from .tasks import ImageFeatures, PromptTestConfig, batch_kind, is_prompt_batch
from .vocabulary_loading import build_segmentor, load_configured_vocabulary

__all__ = ['OMGSegmentor', 'SegDataPreprocessor', 'ImageFeatures', 'PromptTestConfig',
           'batch_kind', 'is_prompt_batch', 'build_segmentor', 'load_configured_vocabulary']
