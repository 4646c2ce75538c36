"""Datasets (registered in ``seg.registry.DATASETS``) and their transforms."""
from . import transforms  # noqa: F401  (registers every transform)
from .ade20k_panoptic import ADE20KPanopticDataset
from .coco_panoptic import CocoPanopticDataset
from .coco_instance import CocoInstanceDataset
from .cityscapes_panoptic import CityscapesPanopticDataset
from .objects365 import Objects365InstanceDataset, Objects365V2InsDataset
from .coco_panoptic_interactive import CocoPanopticInteractiveDataset
from .skip_bad_samples import SkipBadSamplesDataset
from .davis import DAVISDataset
from .joint import DATA_TAGS, JointDataset
from .samplers import SingleSourceBatchSampler
from .video_dataset import BaseVideoDataset
from .vipseg import VIPSegDataset
from .youtube_vis import YouTubeVISDataset

__all__ = [
    'CocoInstanceDataset', 'CityscapesPanopticDataset', 'Objects365InstanceDataset',
    'Objects365V2InsDataset',
    'CocoPanopticDataset', 'CocoPanopticInteractiveDataset', 'ADE20KPanopticDataset',
    'BaseVideoDataset',
    'YouTubeVISDataset', 'VIPSegDataset', 'DAVISDataset', 'SkipBadSamplesDataset',
    'DATA_TAGS', 'JointDataset', 'SingleSourceBatchSampler'
]
