"""Video segmentation: clip data preprocessing, tube linking (MinVIS) and online inference
(clip batches themselves are ``seg.models.tasks.ClipTask``)."""
from .data_preprocessor import VideoSegDataPreprocessor
from .inference import FrameSource, VideoInference, VideoInferenceConfig
from .linking import match_embeddings, video_split

__all__ = ['VideoSegDataPreprocessor', 'FrameSource', 'VideoInference', 'VideoInferenceConfig',
           'match_embeddings', 'video_split']
