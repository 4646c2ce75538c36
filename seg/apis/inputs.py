"""Inputs of the Python API: images, video frames and prompts, checked and made model-ready.

Images are given as a file path, a PIL image or a numpy array (RGB by default, as
segment-anything; ``image_format='BGR'`` for OpenCV arrays). Whatever users bring is turned into
one (H, W, 3) uint8 BGR array, as they see the picture:

* files are decoded by OpenCV: the EXIF orientation of JPEGs is applied, greyscale, palette and
  1-bit images become three equal / looked-up channels, 16-bit images keep their upper 8 bits
  (``value >> 8``), an alpha channel is dropped (the colour values are kept, not composited);
* PIL images get the same treatment (EXIF orientation applied, palette looked up, ``I;16`` >> 8);
* arrays may be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), uint8 or uint16 (>> 8); float, bool
  and other types are refused (their value range is ambiguous).

Images larger than :data:`MAX_IMAGE_PIXELS` (default 25 MP, e.g. 6000x4000; settable with the
``OMGSEG_MAX_IMAGE_PIXELS`` environment variable, this module attribute, or ``max_pixels=``) are
refused before they are decoded: the model returns masks at the input size, and its memory grows
with the pixel count (every query's mask logits are resized to the image), so a 48 MP photo needs
tens of GB. File sizes are read from the header (Pillow) for the formats Pillow identifies; a
format only OpenCV reads is checked right after decoding.

They are resized as the config's test pipeline resizes (its ``Resize`` step) and packed like
``PackSegInputs`` packs them: a (3, h, w) uint8 BGR tensor and a ``SegDataSample`` with
``img_shape``, ``ori_shape`` and ``scale_factor``. Prompts are given in pixels of the original
image.
"""
import os
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from seg.structures import SegDataSample
from seg.utils.image_files import read_image_file

ImageInput = Union[str, Path, np.ndarray, Image.Image]
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
MAX_PIXELS_ENV = 'OMGSEG_MAX_IMAGE_PIXELS'


class VideoEndsEarlyWarning(UserWarning):
    """A video file holds fewer frames than its header declares."""


def _default_max_pixels() -> int:
    value = os.environ.get(MAX_PIXELS_ENV)
    if value is None:
        return 25_000_000
    try:
        parsed = int(value)
    except ValueError:
        raise ValueError(f'{MAX_PIXELS_ENV}={value!r} is not an integer pixel count') from None
    if parsed < 1:
        raise ValueError(f'{MAX_PIXELS_ENV}={value!r} must be positive')
    return parsed


#: Largest image (height x width) accepted; ``max_pixels=`` arguments override it.
MAX_IMAGE_PIXELS: int = _default_max_pixels()


def _check_pixels(height: int, width: int, max_pixels: Optional[int], what: str) -> None:
    limit = MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    if height * width > limit:
        raise ValueError(
            f'{what} is {width}x{height} = {height * width / 1e6:.1f} MP, more than the limit of '
            f'{limit / 1e6:g} MP: results come at the input size and the model\'s memory grows '
            'with the pixel count. Downscale the image, or raise the limit (max_pixels=..., '
            f'seg.apis.inputs.MAX_IMAGE_PIXELS or the {MAX_PIXELS_ENV} environment variable)')


def _check_file_header(path: Path, max_pixels: Optional[int]) -> None:
    """The pixel limit checked on the file header, without decoding; nothing to check when
    Pillow does not identify the format (OpenCV may still decode it: checked after)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(path) as header:
                width, height = header.size
    except Image.DecompressionBombError as error:
        # Pillow refuses more than 2 x its own MAX_IMAGE_PIXELS (89 MP) at open.
        limit = MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
        if limit < 2 * (Image.MAX_IMAGE_PIXELS or 0):
            raise ValueError(f'image {path}: {error} (limit here {limit / 1e6:g} MP)') from None
        return
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return
    _check_pixels(height, width, max_pixels, f'image {path}')


def _array_to_bgr(array: np.ndarray, image_format: str, what: str) -> np.ndarray:
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)   # as OpenCV reads 16-bit files
    elif array.dtype != np.uint8:
        raise ValueError(f'{what}: dtype {array.dtype} is not supported: give uint8 (0-255) or '
                         'uint16 (0-65535) values (float and bool images have no agreed range)')
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        bgr = np.repeat(array[..., None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] in (3, 4):
        bgr = array[..., :3]                     # alpha dropped, colour values kept
        if image_format == 'RGB':
            bgr = bgr[..., ::-1]
    else:
        raise ValueError(f'{what}: shape {array.shape} is not an image: need (H, W), (H, W, 1), '
                         '(H, W, 3) or (H, W, 4)')
    if min(bgr.shape[:2]) < 1:
        raise ValueError(f'{what} is empty: {array.shape}')
    return np.ascontiguousarray(bgr)


def _pil_to_bgr(image: Image.Image, max_pixels: Optional[int]) -> np.ndarray:
    _check_pixels(image.height, image.width, max_pixels, 'PIL image')
    image = ImageOps.exif_transpose(image)  # orientation applied, as viewers show it
    if image.mode in ('I;16', 'I;16L', 'I;16B'):
        array = np.asarray(image).astype(np.uint16)
    elif image.mode in ('L', 'RGB', 'RGBA'):
        array = np.asarray(image)
    elif image.mode == 'LA':
        array = np.asarray(image)[..., 0]
    elif image.mode in ('1', 'P', 'PA', 'CMYK', 'YCbCr', 'LAB', 'HSV', 'RGBX', 'RGBa', 'La'):
        array = np.asarray(image.convert('RGB'))
    else:
        raise ValueError(f'PIL image mode {image.mode!r} is not supported (its value range is '
                         'ambiguous): convert it to "RGB" or "L" first')
    return _array_to_bgr(array, 'RGB', f'PIL image (mode {image.mode})')


def load_image(image: ImageInput, image_format: str = 'RGB',
               max_pixels: Optional[int] = None) -> np.ndarray:
    """(H, W, 3) uint8 BGR array of a path, a PIL image or an RGB / BGR array (module doc).

    ``max_pixels``: refuse larger images (default :data:`MAX_IMAGE_PIXELS`). Raises
    ``FileNotFoundError`` / ``ValueError`` / ``TypeError`` naming the file or the problem.
    """
    if image_format not in ('RGB', 'BGR'):
        raise ValueError(f'image_format must be "RGB" or "BGR", got {image_format!r}')
    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        if path.is_dir():
            raise ValueError(f'{path} is a folder, not an image file')
        if not path.is_file():
            raise FileNotFoundError(f'image file not found: {path}')
        _check_file_header(path, max_pixels)
        bgr = read_image_file(path)
        _check_pixels(*bgr.shape[:2], max_pixels, f'image {path}')
        return bgr
    if isinstance(image, Image.Image):
        return _pil_to_bgr(image, max_pixels)
    if not isinstance(image, np.ndarray):
        raise TypeError(f'image must be a file path, a PIL image or a numpy array, got '
                        f'{type(image).__name__}')
    if image.ndim >= 2:
        _check_pixels(image.shape[0], image.shape[1], max_pixels, 'image array')
    return _array_to_bgr(image, image_format, 'image array')


def _capture_property(capture, prop: int) -> int:
    value = capture.get(prop)
    return int(value) if np.isfinite(value) and 0 < value < 2 ** 31 else 0


def read_video(path: Union[str, Path], max_frames: Optional[int] = None,
               max_pixels: Optional[int] = None) -> List[np.ndarray]:
    """BGR frames of a video file, or of the image files of a folder (sorted by name).

    All frames must have one size (a folder frame of another size raises ``ValueError`` naming
    it; OpenCV itself scales the frames of a video file to the stream's size). A file that
    ends before the frame count of its header (cut short) gives the frames before the last one
    read (the decoder returns the frame the file is cut in half decoded), with a warning naming
    the file and both counts. ``max_frames``: read only the first N frames.
    ``max_pixels``: per-frame limit (default :data:`MAX_IMAGE_PIXELS`).
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f'max_frames must be positive, got {max_frames}')
    source = Path(path).expanduser()
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f'frame folder {source} holds no images ({IMAGE_SUFFIXES})')
        frames = []
        for file in files[:max_frames]:
            frame = load_image(file, 'BGR', max_pixels)
            if frames and frame.shape != frames[0].shape:
                raise ValueError(f'frame {file} has size {frame.shape[:2]}, the first frame '
                                 f'{files[0].name} {frames[0].shape[:2]}: all frames of a video '
                                 'need one size')
            frames.append(frame)
        return frames
    if not source.is_file():
        raise FileNotFoundError(f'video not found: {source}')
    capture = cv2.VideoCapture(str(source))
    frames = []
    try:
        if not capture.isOpened():
            raise ValueError(f'cannot open video file {source} ({source.stat().st_size} bytes): '
                             'not a video OpenCV reads, or damaged (e.g. an MP4 cut before its '
                             'index was written)')
        width = _capture_property(capture, cv2.CAP_PROP_FRAME_WIDTH)
        height = _capture_property(capture, cv2.CAP_PROP_FRAME_HEIGHT)
        if width and height:
            _check_pixels(height, width, max_pixels, f'video {source}')
        declared = _capture_property(capture, cv2.CAP_PROP_FRAME_COUNT)
        while max_frames is None or len(frames) < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            if frames and frame.shape != frames[0].shape:
                raise ValueError(f'video {source}: frame {len(frames)} has size '
                                 f'{frame.shape[:2]}, frame 0 {frames[0].shape[:2]}')
            if not frames:
                _check_pixels(*frame.shape[:2], max_pixels, f'video {source}')
            frames.append(frame)
    finally:
        capture.release()
    if not frames:
        raise ValueError(f'cannot read any frame of video {source}')
    wanted = declared if max_frames is None else min(declared, max_frames)
    if declared and len(frames) < wanted:
        # The decoder returns the frame the file is cut in, half decoded: it is dropped.
        if len(frames) == 1:
            raise ValueError(f'video {source} ends early: its header declares {declared} '
                             'frames, only 1 could be read, which may be incomplete (file cut '
                             'short or damaged)')
        warnings.warn(f'video {source} ends early: its header declares {declared} frames, only '
                      f'{len(frames)} could be read (file cut short or damaged); using the first '
                      f'{len(frames) - 1} (the last one read may be incomplete)',
                      VideoEndsEarlyWarning, stacklevel=2)
        frames.pop()
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
