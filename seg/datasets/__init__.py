"""Datasets (registered in ``seg.registry.DATASETS``) and their transforms."""
from . import transforms  # noqa: F401  (registers every transform)
from .coco_panoptic import CocoPanopticDataset
from .panoptic_utils import id_to_rgb, read_panoptic_png, rgb_to_id, write_panoptic_png
from .toy_data import TOY_CATEGORIES, generate_toy_dataset, render_toy_sample

__all__ = [
    'CocoPanopticDataset', 'rgb_to_id', 'id_to_rgb', 'read_panoptic_png', 'write_panoptic_png',
    'TOY_CATEGORIES', 'generate_toy_dataset', 'render_toy_sample'
]
