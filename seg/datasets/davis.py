"""DAVIS-2017 semi-supervised video object segmentation.

Follows the reference's ``DAVIS`` dataset (its ``seg/datasets/davis.py``).

Layout (official)::

    data/DAVIS/
      ImageSets/2017/{train,val}.txt                       # one sequence per line
      JPEGImages/{480p,Full-Resolution}/<sequence>/<frame>.jpg
      Annotations/{480p,Full-Resolution}/<sequence>/<frame>.png   # palette PNGs

A palette index is an object id (0 background, 255 void); objects are class-agnostic (one
thing class, ``object``), the id is their instance id across the sequence.
"""
import os.path as osp
from typing import List, Tuple

import numpy as np
from PIL import Image

from seg.registry import DATASETS
from .video_dataset import BaseVideoDataset

DAVIS_VOID = 255
RESOLUTIONS = ('480p', 'Full-Resolution')


def read_davis_png(path: str) -> np.ndarray:
    """(H, W) object ids of a DAVIS annotation (palette or greyscale PNG)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'DAVIS annotation PNG not found: {path}')
    try:
        with Image.open(path) as image:
            if image.mode not in ('P', 'L'):
                raise ValueError(f'{path}: expected a palette (P) or greyscale (L) PNG of object '
                                 f'ids, got mode {image.mode}')
            return np.asarray(image).astype(np.int64)
    except OSError as error:
        raise ValueError(f'cannot decode DAVIS annotation PNG {path}: {error}') from error


def load_davis_frame(results: dict) -> dict:
    """Frame annotations of the ``davis`` format: one mask per object id, label 0."""
    path = results['seg_map_path']
    ids = read_davis_png(path)
    expected = results.get('ori_shape')
    if expected is not None and ids.shape != tuple(expected[:2]):
        raise ValueError(f'{path} has size {ids.shape} but its frame '
                         f'{results.get("img_path")} has size {tuple(expected[:2])}')
    objects = [value for value in np.unique(ids).tolist() if value not in (0, DAVIS_VOID)]
    results['gt_masks'] = (np.stack([ids == value for value in objects]).astype(np.uint8)
                           if objects else np.zeros((0,) + ids.shape, np.uint8))
    results['gt_labels'] = np.zeros(len(objects), np.int64)
    results['gt_instance_ids'] = np.asarray(objects, np.int64)
    return results


@DATASETS.register_module()
class DAVISDataset(BaseVideoDataset):
    """DAVIS-2017 (VOS).

    Args:
        ann_file: sequence list, e.g. ``ImageSets/2017/val.txt`` (relative to data_root).
        resolution: ``'480p'`` (the evaluation resolution) or ``'Full-Resolution'``; sets the
            default ``data_prefix`` (``img``: JPEGImages/<res>/, ``seg``: Annotations/<res>/).
        Others: see ``BaseVideoDataset``.

    ``video_id`` is the 1-based position in ``ann_file``; ``video_name`` and the metainfo key
    ``sequence`` the sequence name.
    """
    ANN_FORMAT = 'davis'

    def __init__(self, *args, resolution: str = '480p', **kwargs) -> None:
        if resolution not in RESOLUTIONS:
            raise ValueError(f'DAVIS resolution must be one of {RESOLUTIONS}, got {resolution!r}')
        self.resolution = resolution
        if kwargs.get('data_prefix') is None:
            kwargs['data_prefix'] = dict(img=f'JPEGImages/{resolution}/',
                                         seg=f'Annotations/{resolution}/')
        super().__init__(*args, **kwargs)

    def read_categories(self) -> Tuple[List[dict], str]:
        return [dict(id=1, name='object', isthing=1)], 'DAVIS (class-agnostic)'

    def load_data_list(self) -> List[dict]:
        names = self.read_name_list('sequence')
        return [self.video_info(position, name, self.paired_frames(name), sequence=name)
                for position, name in enumerate(names, start=1)]
