from .mask_pooling import mask_pool
from .omg_head import OMGHead
from .panoptic_targets import panoptic_targets
from .set_criterion import SetCriterion
from .text_classifier import CosineTextClassifier

__all__ = ['OMGHead', 'SetCriterion', 'CosineTextClassifier', 'mask_pool', 'panoptic_targets']
