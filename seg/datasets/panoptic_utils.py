"""COCO panoptic PNG encoding: segment id = R + 256 * G + 256**2 * B."""
from pathlib import Path
from typing import Union

import cv2
import numpy as np


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 -> (H, W) int64 segment ids."""
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """(H, W) segment ids -> (H, W, 3) RGB uint8 (inverse of ``rgb_to_id``)."""
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 256 ** 3):
        raise ValueError(f'panoptic segment ids must lie in [0, {256 ** 3}), got '
                         f'[{ids.min()}, {ids.max()}]')
    return np.stack([ids % 256, ids // 256 % 256, ids // 256 ** 2], axis=-1).astype(np.uint8)


def read_image_file(path: Union[str, Path], flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Read an image with OpenCV; missing or undecodable files raise errors naming the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'image file not found: {path}')
    # np.fromfile + imdecode also copes with non-ASCII paths, which cv2.imread does not.
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise ValueError(f'cannot decode image file {path} ({data.size} bytes): empty, '
                         'truncated or not an image')
    return image


def read_panoptic_png(path: Union[str, Path]) -> np.ndarray:
    """Read a COCO panoptic PNG as an (H, W) int64 map of segment ids."""
    bgr = read_image_file(path, cv2.IMREAD_COLOR)
    return rgb_to_id(bgr[..., ::-1])


def write_panoptic_png(path: Union[str, Path], ids: np.ndarray) -> None:
    """Write an (H, W) segment-id map as a COCO panoptic RGB PNG."""
    if not cv2.imwrite(str(path), id_to_rgb(ids)[..., ::-1]):
        raise OSError(f'cannot write panoptic PNG {path}')
