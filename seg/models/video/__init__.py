"""Video segmentation: clip batches, tube linking (MinVIS) and online inference."""
from .clip_model import clip_loss, clip_predict, clip_tensor_forward
from .data_preprocessor import VideoSegDataPreprocessor
from .inference import FrameSource, VideoInference, VideoInferenceConfig
from .linking import match_embeddings, video_split

__all__ = [
    'clip_loss', 'clip_predict', 'clip_tensor_forward', 'VideoSegDataPreprocessor',
    'FrameSource', 'VideoInference', 'VideoInferenceConfig', 'match_embeddings', 'video_split'
]
