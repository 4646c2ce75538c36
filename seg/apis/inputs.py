"""Inputs of the Python API: images, video frames and prompts, checked and made model-ready.

Images are given as a file path or an (H, W, 3) uint8 array (RGB by default, as
segment-anything; ``image_format='BGR'`` for OpenCV arrays). They are resized as the config's
test pipeline resizes (its ``Resize`` step) and packed like ``PackSegInputs`` packs them: a
(3, h, w) uint8 BGR tensor and a ``SegDataSample`` with ``img_shape``, ``ori_shape`` and
``scale_factor``. Prompts are given in pixels of the original image.
"""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from seg.structures import SegDataSample
from seg.utils.image_files import read_image_file

ImageInput = Union[str, Path, np.ndarray]
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def load_image(image: ImageInput, image_format: str = 'RGB') -> np.ndarray:
    """(H, W, 3) uint8 BGR array of a path or an RGB / BGR array."""
    if image_format not in ('RGB', 'BGR'):
        raise ValueError(f'image_format must be "RGB" or "BGR", got {image_format!r}')
    if isinstance(image, (str, Path)):
        return read_image_file(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f'image must be a file path or a numpy array, got {type(image).__name__}')
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'image array must be (H, W, 3) uint8, got {image.shape} {image.dtype}')
    if min(image.shape[:2]) < 1:
        raise ValueError(f'image is empty: {image.shape}')
    return np.ascontiguousarray(image[..., ::-1] if image_format == 'RGB' else image)


def read_video(path: Union[str, Path]) -> List[np.ndarray]:
    """BGR frames of a video file, or of the image files of a folder (sorted by name)."""
    source = Path(path).expanduser()
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f'frame folder {source} holds no images ({IMAGE_SUFFIXES})')
        return [read_image_file(file) for file in files]
    if not source.is_file():
        raise FileNotFoundError(f'video not found: {source}')
    capture = cv2.VideoCapture(str(source))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    if not frames:
        raise ValueError(f'cannot read any frame of video {source}')
    return frames


def pack_image(image_bgr: np.ndarray, resize=None, img_path: Optional[str] = None
               ) -> Tuple[torch.Tensor, SegDataSample]:
    """Resize (the config's ``Resize`` transform, or none) and pack one BGR image."""
    results = dict(img=image_bgr, img_shape=image_bgr.shape[:2], ori_shape=image_bgr.shape[:2])
    if resize is not None:
        results = resize(results)
    img = results['img']
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    meta = dict(img_shape=tuple(img.shape[:2]), ori_shape=tuple(image_bgr.shape[:2]),
                scale_factor=tuple(results.get('scale_factor', (1.0, 1.0))))
    if img_path is not None:
        meta['img_path'] = img_path
    return inputs, SegDataSample(metainfo=meta)


def _as_array(values, width: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1 and array.size == width:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f'{what} must have shape (N, {width}), got {array.shape}')
    if not np.isfinite(array).all():
        raise ValueError(f'{what} contain non-finite values: {array.tolist()}')
    return array


def check_prompts(points, boxes, image_size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Validated (P, 2) points and (M, 4) boxes in pixels of an image of size (H, W).

    Raises ``ValueError`` when no prompt is given, a point lies outside the image
    (``0 <= x < W``, ``0 <= y < H``), or a box is degenerate (``x2 <= x1`` or ``y2 <= y1``) or
    reaches outside ``[0, W] x [0, H]``; the message names the prompt.
    """
    height, width = image_size
    points = (np.zeros((0, 2)) if points is None or len(points) == 0
              else _as_array(points, 2, 'points'))
    boxes = (np.zeros((0, 4)) if boxes is None or len(boxes) == 0
             else _as_array(boxes, 4, 'boxes'))
    if len(points) + len(boxes) == 0:
        raise ValueError('give at least one point or box prompt')
    for index, (x, y) in enumerate(points):
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f'point {index} ({x}, {y}) lies outside the image of size '
                             f'(w={width}, h={height})')
    for index, (x1, y1, x2, y2) in enumerate(boxes):
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'box {index} ({x1}, {y1}, {x2}, {y2}) is degenerate: need '
                             'x2 > x1 and y2 > y1')
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            raise ValueError(f'box {index} ({x1}, {y1}, {x2}, {y2}) reaches outside the image '
                             f'of size (w={width}, h={height})')
    return points.astype(np.float32), boxes.astype(np.float32)


def check_first_frame_masks(masks, image_size: Tuple[int, int],
                            ids: Optional[Sequence[int]] = None
                            ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(N, H, W) bool masks of the objects to follow and their ids (default 1..N)."""
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3 or masks.shape[0] == 0:
        raise ValueError(f'first-frame masks must be (N >= 1, H, W), got {masks.shape}')
    if tuple(masks.shape[1:]) != tuple(image_size):
        raise ValueError(f'first-frame masks have size {masks.shape[1:]}, the frames '
                         f'{tuple(image_size)}')
    masks = masks.astype(bool)
    empty = [index for index, mask in enumerate(masks) if not mask.any()]
    if empty:
        raise ValueError(f'first-frame masks {empty} are empty')
    ids = list(range(1, len(masks) + 1)) if ids is None else [int(i) for i in ids]
    if len(ids) != len(masks) or len(set(ids)) != len(ids) or min(ids) < 1:
        raise ValueError(f'need one distinct positive id per first-frame mask, got {ids} for '
                         f'{len(masks)} masks')
    return torch.from_numpy(masks), torch.tensor(ids, dtype=torch.long)
