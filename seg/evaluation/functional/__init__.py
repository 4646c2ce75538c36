"""Metric math in plain numpy (pycocotools where it is the reference), shared by the online
metrics of `seg.evaluation.metrics` and the offline `tools/evaluate.py`. All values are
fractions in [0, 1]; -1 marks what COCO leaves undefined."""
from .coco_ap import (DEFAULT_MAX_DETS, coco_mask_ap, evaluate_coco_instance,
                      instances_from_panoptic, quiet_coco, stat_keys)
from .davis import (boundary_f_measure, davis_summary, db_statistics, evaluate_davis,
                    evaluate_sequence, region_iou)
from .formats import read_label_png
from .interactive import (clicks_to_reach, farthest_interior_point, input_scale_of_masks,
                          interactive_summary, mask_iou, next_click, simulate_clicks)
from .panoptic_quality import (PanopticCategories, PQStat, evaluate_coco_panoptic,
                               pq_image_stats, pq_summary, segments_from_label_map)
from .semantic import evaluate_semantic, intersect_and_union, semantic_metrics
from .stq import STQuality
from .video_ap import evaluate_youtube_vis, spatio_temporal_iou, video_gt_coco, youtube_vis_ap
from .video_panoptic import (CITYSCAPES_VPS_WINDOWS, VIPSEG_WINDOWS, VideoSegmentCounts,
                             evaluate_vipseg_stq, evaluate_vipseg_vpq, stq_for_categories,
                             vpq_summary)

__all__ = [
    'DEFAULT_MAX_DETS', 'coco_mask_ap', 'evaluate_coco_instance',
    'instances_from_panoptic', 'quiet_coco', 'stat_keys', 'boundary_f_measure',
    'davis_summary', 'db_statistics', 'evaluate_davis', 'evaluate_sequence', 'region_iou',
    'read_label_png', 'PanopticCategories', 'PQStat', 'evaluate_coco_panoptic',
    'pq_image_stats', 'pq_summary', 'segments_from_label_map', 'evaluate_semantic',
    'intersect_and_union', 'semantic_metrics', 'STQuality', 'evaluate_youtube_vis',
    'spatio_temporal_iou', 'video_gt_coco', 'youtube_vis_ap', 'CITYSCAPES_VPS_WINDOWS',
    'VIPSEG_WINDOWS', 'VideoSegmentCounts', 'evaluate_vipseg_stq', 'evaluate_vipseg_vpq',
    'stq_for_categories', 'vpq_summary', 'clicks_to_reach', 'farthest_interior_point',
    'input_scale_of_masks', 'interactive_summary', 'mask_iou', 'next_click', 'simulate_clicks',
]
