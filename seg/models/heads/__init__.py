from .mask_pooling import mask_pool
from .omg_head import OMGHead
from .panoptic_targets import panoptic_targets
from .prompt_queries import (PromptEncoder, box_prompts, point_prompts,
                             prompt_self_attention_mask)
from .set_criterion import SetCriterion
from .text_classifier import CosineTextClassifier
from .video_targets import video_panoptic_targets

__all__ = ['OMGHead', 'SetCriterion', 'CosineTextClassifier', 'mask_pool', 'panoptic_targets',
           'video_panoptic_targets', 'PromptEncoder', 'box_prompts', 'point_prompts',
           'prompt_self_attention_mask']
