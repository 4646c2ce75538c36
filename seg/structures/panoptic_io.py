"""COCO panoptic PNGs: segment id = R + 256 * G + 256**2 * B, id 0 is void.

The one codec of the package (datasets, evaluation, the API, data generators). Id maps are
int64 (torch-friendly, no overflow in id arithmetic); ids must lie in [0, 2**24).
"""
from pathlib import Path
from typing import Union

import cv2
import numpy as np

from seg.utils.image_files import read_image_file

MAX_SEGMENT_ID = 256 ** 3 - 1


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB (extra channels such as alpha are ignored) -> (H, W) int64 segment ids."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f'expected an (H, W, 3) RGB array, got shape {rgb.shape}')
    rgb = rgb[..., :3].astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W) segment ids -> (H, W, 3) RGB uint8 (inverse of ``rgb_to_id``)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() > MAX_SEGMENT_ID):
        raise ValueError(f'panoptic segment ids must lie in [0, {MAX_SEGMENT_ID + 1}), got '
                         f'[{ids.min()}, {ids.max()}]')
    return np.stack([ids % 256, ids // 256 % 256, ids // 256 ** 2], axis=-1).astype(np.uint8)


def read_panoptic_png(path: Union[str, Path]) -> np.ndarray:
    """Read a COCO panoptic PNG (8-bit RGB, alpha ignored) as an (H, W) int64 segment-id map.

    Grey or 16-bit PNGs are refused: decoding them as colours would give wrong ids silently.
    """
    image = read_image_file(path, cv2.IMREAD_UNCHANGED)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        raise ValueError(f'{path}: expected an 8-bit RGB panoptic PNG, got an image of shape '
                         f'{image.shape} and dtype {image.dtype}')
    return rgb_to_id(image[..., 2::-1])  # OpenCV gives BGR(A)


def write_panoptic_png(path: Union[str, Path], ids: np.ndarray) -> None:
    """Write an (H, W) segment-id map as a COCO panoptic RGB PNG (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), id_to_rgb(ids)[..., ::-1]):
        raise OSError(f'cannot write panoptic PNG {path}')


__all__ = ['MAX_SEGMENT_ID', 'rgb_to_id', 'id_to_rgb', 'read_panoptic_png',
           'write_panoptic_png']
