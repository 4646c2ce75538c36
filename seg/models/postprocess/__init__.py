"""Post-processing of query outputs: panoptic, instance and semantic fusion."""
from .instance import instance_postprocess
from .mask_ops import check_query_outputs, restore_mask_logits
from .open_vocab import OpenVocabFusion, clip_mask_logits, geometric_ensemble
from .panoptic import panoptic_postprocess
from .query_postprocessor import OMGFusionHead, PostprocessConfig, QueryPostprocessor
from .semantic import semantic_postprocess
from .video import (VideoFramePostprocessor, frame_results_to_sample,
                    match_proposals_to_objects)

__all__ = [
    'PostprocessConfig', 'QueryPostprocessor', 'OMGFusionHead', 'check_query_outputs',
    'instance_postprocess',
    'panoptic_postprocess', 'restore_mask_logits', 'semantic_postprocess',
    'VideoFramePostprocessor', 'frame_results_to_sample', 'match_proposals_to_objects',
    'OpenVocabFusion', 'clip_mask_logits', 'geometric_ensemble'
]
