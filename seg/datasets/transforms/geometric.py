"""Geometric augmentation: resize (fixed and LSJ-random), crop and flip.

Every step moves ``img`` and, when present, ``gt_masks`` (N, H, W) and ``gt_seg_map`` (H, W)
together, so targets stay pixel-aligned with the image. Randomness comes from numpy's global
generator (seeded by mmengine's ``set_random_seed`` and its worker init), so runs repeat.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from seg.registry import TRANSFORMS
from .base import BaseTransform

LABEL_KEYS = ('gt_masks', 'gt_seg_map')


def _as_size_pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f'{name} must be a positive int or a pair of positive ints, got {value!r}')
    return int(pair[0]), int(pair[1])


def _nearest_source_indices(src_size: int, dst_size: int) -> np.ndarray:
    # Pixel-centre aligned like cv2.INTER_LINEAR, so label maps land where the image content does.
    centres = (np.arange(dst_size) + 0.5) * (src_size / dst_size)
    return np.minimum(centres.astype(np.int64), src_size - 1)


def resize_nearest(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of the last two axes of a label map or mask stack (any dtype)."""
    rows = _nearest_source_indices(labels.shape[-2], height)
    cols = _nearest_source_indices(labels.shape[-1], width)
    return labels[..., rows[:, None], cols[None, :]]


def keep_ratio_size(height: int, width: int, scale: Tuple[int, int]) -> Tuple[int, int]:
    """Size after mmcv's keep-ratio rescale: fit the long side in max(scale), the short in min."""
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return max(int(height * factor + 0.5), 1), max(int(width * factor + 0.5), 1)


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize the image (bilinear) and its targets (nearest).

    Args:
        scale: (w, h) target, or an int for a square. With ``keep_ratio`` the image is scaled to
            fit the long edge in ``max(scale)`` and the short edge in ``min(scale)`` (mmcv).
        keep_ratio: keep the aspect ratio; otherwise resize to exactly (w, h).

    Sets ``img_shape`` and ``scale_factor`` = (w_scale, h_scale), composed with any earlier
    resize so it always maps the original image to the current one.
    """

    def __init__(self, scale: Union[int, Sequence[int]], keep_ratio: bool = True) -> None:
        self.scale = _as_size_pair(scale, 'Resize scale')
        self.keep_ratio = keep_ratio

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        if self.keep_ratio:
            new_h, new_w = keep_ratio_size(height, width, self.scale)
        else:
            new_w, new_h = self.scale
        results['img'] = cv2.resize(results['img'], (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        for key in LABEL_KEYS:
            if key in results:
                results[key] = resize_nearest(results[key], new_h, new_w)
        old_w_scale, old_h_scale = results.get('scale_factor', (1.0, 1.0))
        results['scale_factor'] = (old_w_scale * new_w / width, old_h_scale * new_h / height)
        results['img_shape'] = (new_h, new_w)
        return results


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Large-scale-jitter resize: target scale = ``scale`` * U(ratio_range), then ``Resize``.

    Args:
        scale: (w, h) base scale.
        ratio_range: (min, max) of the uniform ratio.
        keep_ratio: passed to ``Resize``.
    """

    def __init__(self, scale: Union[int, Sequence[int]], ratio_range: Sequence[float],
                 keep_ratio: bool = True) -> None:
        self.scale = _as_size_pair(scale, 'RandomResize scale')
        if len(ratio_range) != 2 or not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(f'ratio_range must be (min, max) with 0 < min <= max, '
                             f'got {ratio_range!r}')
        self.ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        self.keep_ratio = keep_ratio

    def transform(self, results: dict) -> dict:
        low, high = self.ratio_range
        ratio = np.random.random_sample() * (high - low) + low
        target = (max(int(self.scale[0] * ratio), 1), max(int(self.scale[1] * ratio), 1))
        return Resize(target, keep_ratio=self.keep_ratio).transform(results)


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random window of ``crop_size`` (h, w) (clipped to the image) from image and targets.

    Thing instances whose mask is empty after the crop are dropped. Without
    ``allow_negative_crop`` a crop left with no instance returns ``None`` (the dataset then draws
    another sample), as mmdet.
    """

    def __init__(self, crop_size: Sequence[int], crop_type: str = 'absolute',
                 allow_negative_crop: bool = False) -> None:
        if crop_type != 'absolute':
            raise ValueError(f"RandomCrop supports crop_type='absolute' only, got {crop_type!r}")
        self.crop_size = _as_size_pair(tuple(crop_size), 'RandomCrop crop_size')
        self.crop_type = crop_type
        self.allow_negative_crop = allow_negative_crop

    def transform(self, results: dict) -> Optional[dict]:
        height, width = results['img'].shape[:2]
        crop_h, crop_w = min(self.crop_size[0], height), min(self.crop_size[1], width)
        top = np.random.randint(0, height - crop_h + 1)
        left = np.random.randint(0, width - crop_w + 1)
        window = (slice(top, top + crop_h), slice(left, left + crop_w))
        results['img'] = results['img'][window]
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = results['gt_seg_map'][window]
        if 'gt_masks' in results:
            masks = results['gt_masks'][(slice(None),) + window]
            keep = masks.any(axis=(1, 2))
            if not keep.any() and not self.allow_negative_crop:
                return None
            results['gt_masks'] = masks[keep]
            results['gt_labels'] = results['gt_labels'][keep]
        results['img_shape'] = (crop_h, crop_w)
        return results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip image and targets with probability ``prob``; sets ``flip`` and ``flip_direction``.

    Args:
        prob: flip probability.
        direction: 'horizontal' (left-right) or 'vertical' (up-down).
    """

    _AXIS = {'horizontal': -1, 'vertical': -2}

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal') -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomFlip prob must be in [0, 1], got {prob}')
        if direction not in self._AXIS:
            raise ValueError(f'RandomFlip direction must be one of {sorted(self._AXIS)}, '
                             f'got {direction!r}')
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.random_sample() < self.prob)
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        if flip:
            axis = self._AXIS[self.direction]
            # The image is (H, W, C): its spatial axes sit one place further left.
            results['img'] = np.flip(results['img'], axis=axis - 1)
            for key in LABEL_KEYS:
                if key in results:
                    results[key] = np.flip(results[key], axis=axis)
        return results
