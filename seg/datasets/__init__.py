"""Datasets (registered in ``seg.registry.DATASETS``) and their transforms."""
from .coco_panoptic import CocoPanopticDataset
from .panoptic_utils import id_to_rgb, read_panoptic_png, rgb_to_id, write_panoptic_png
from .toy_data import TOY_CATEGORIES, generate_toy_dataset, render_toy_sample
from .transforms import *  # noqa: F401,F403  (registers every transform)

__all__ = [
    'CocoPanopticDataset', 'rgb_to_id', 'id_to_rgb', 'read_panoptic_png', 'write_panoptic_png',
    'TOY_CATEGORIES', 'generate_toy_dataset', 'render_toy_sample'
]
