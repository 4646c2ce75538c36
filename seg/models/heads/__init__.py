from .mask_pooling import mask_pool
from .omg_head import OMGHead
from .outputs import DecoderOutput, QueryPredictions
from .panoptic_targets import panoptic_targets
from .prompt_encoder import PromptEncoder, build_prompt_encoder, prompt_self_attention_mask
from .set_criterion import SetCriterion
from .text_classifier import CosineTextClassifier
from .video_targets import video_panoptic_targets

__all__ = ['OMGHead', 'DecoderOutput', 'QueryPredictions', 'SetCriterion',
           'CosineTextClassifier', 'mask_pool', 'panoptic_targets', 'video_panoptic_targets',
           'PromptEncoder', 'build_prompt_encoder', 'prompt_self_attention_mask']
