"""Last pipeline step: numpy results -> model input tensor + ``SegDataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData

from seg.registry import TRANSFORMS
from seg.structures import SegDataSample
from .base import BaseTransform

DEFAULT_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                     'flip_direction', 'seg_map_path', 'segments_info', 'ignored_segment_ids')


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """Pack a sample as ``dict(inputs=..., data_samples=...)``.

    ``inputs``: (3, H, W) tensor of the image, channel order and dtype unchanged (uint8 BGR from
    ``LoadImageFromFile``), contiguous. ``data_samples``: a ``SegDataSample`` with
    ``gt_instances`` (``labels`` int64 (N,), ``masks`` bool (N, H, W)) when ``gt_masks`` is
    present, ``gt_sem_seg`` (``sem_seg`` int64 (1, H, W)) when ``gt_seg_map`` is present, and
    as metainfo every key of ``meta_keys`` found in the results (absent keys are not invented:
    e.g. inference on a bare image has no ``seg_map_path``).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError(f'PackSegInputs needs "img" in the results, got keys {sorted(results)}')
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

        sample = SegDataSample()
        if 'gt_masks' in results:
            masks = np.ascontiguousarray(results['gt_masks']).astype(bool)
            sample.gt_instances = InstanceData(
                labels=torch.from_numpy(np.asarray(results['gt_labels'], dtype=np.int64)),
                masks=torch.from_numpy(masks))
        if 'gt_seg_map' in results:
            seg_map = np.ascontiguousarray(results['gt_seg_map'], dtype=np.int64)
            sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(seg_map[None]))
        sample.set_metainfo({key: results[key] for key in self.meta_keys if key in results})
        return dict(inputs=inputs, data_samples=sample)
