"""Python API: a segment-anything style `Predictor`, numpy results and a visualiser."""
from .inputs import check_prompts, load_image, read_video
from .predictor import TASKS, Predictor, parse_tasks
from .results import ImageResult, Instances, PromptResult, VideoResult, mask_to_rle
from .visualizer import (add_legend, color_for, draw_instances, draw_panoptic, draw_prompts,
                         draw_result, draw_semantic, draw_vos, overlay_masks, save_image)

__all__ = [
    'Predictor', 'TASKS', 'parse_tasks', 'ImageResult', 'Instances', 'PromptResult',
    'VideoResult', 'mask_to_rle', 'check_prompts', 'load_image', 'read_video', 'add_legend',
    'color_for', 'draw_instances', 'draw_panoptic', 'draw_prompts', 'draw_result',
    'draw_semantic', 'draw_vos', 'overlay_masks', 'save_image'
]
