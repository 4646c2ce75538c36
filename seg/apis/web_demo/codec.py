"""Uploads and downloads of the web demo: size limits, image decoding and encoding, drawn
masks, class-name lists; every problem is a :class:`DemoError` with a message for the page."""
import base64
import io
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MB = 1 << 20


class DemoError(Exception):
    """A problem the user can fix (bad file, missing image...): shown in the page as is."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class DemoLimits:
    """What the demo accepts; larger inputs are refused with a message naming the limit."""
    max_image_bytes: int = 25 * MB
    max_image_side: int = 4096
    max_video_bytes: int = 200 * MB
    max_video_frames: int = 100
    max_video_side: int = 1920
    max_classes: int = 1000
    max_prompts: int = 100


def size_text(num_bytes: int) -> str:
    return f'{num_bytes / MB:.1f} MB' if num_bytes >= MB / 10 else f'{num_bytes} bytes'


def encode_image(image_rgb: np.ndarray, fmt: str = '.png', quality: int = 90) -> bytes:
    """PNG (or JPEG with ``fmt='.jpg'``) bytes of an RGB uint8 image."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == '.jpg' else []
    ok, data = cv2.imencode(fmt, np.ascontiguousarray(image_rgb[..., ::-1]), params)
    if not ok:
        raise RuntimeError(f'OpenCV could not encode a {image_rgb.shape} image as {fmt}')
    return data.tobytes()


def data_url(image_rgb: np.ndarray, fmt: str = '.png') -> str:
    mime = 'image/jpeg' if fmt == '.jpg' else 'image/png'
    return f'data:{mime};base64,' + base64.b64encode(encode_image(image_rgb, fmt)).decode()


def _open_image(data: bytes, name: str, what: str) -> Image.Image:
    try:
        picture = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise DemoError(f'{name!r} is not an image the demo can read (PNG, JPEG, BMP, TIFF, '
                        f'WebP...){what}') from None
    except Image.DecompressionBombError:
        raise DemoError(f'{name!r} is too large: its header announces more pixels than Pillow '
                        'agrees to decode') from None
    return picture


def decode_image(data: bytes, name: str, max_bytes: int, max_side: int,
                 what: str = '') -> np.ndarray:
    """(H, W, 3) uint8 RGB array of an uploaded image file (EXIF orientation applied).

    Raises DemoError for an empty, too large (bytes or pixels), unreadable or damaged file."""
    if not data:
        raise DemoError(f'{name!r} is empty (0 bytes)')
    if len(data) > max_bytes:
        raise DemoError(f'{name!r} is {size_text(len(data))}; the demo accepts images up to '
                        f'{size_text(max_bytes)}', status=413)
    picture = _open_image(data, name, what)
    width, height = picture.size
    if max(width, height) > max_side:
        raise DemoError(f'{name!r} is {width}x{height} pixels; the demo accepts images up to '
                        f'{max_side} pixels a side', status=413)
    try:
        picture = ImageOps.exif_transpose(picture).convert('RGB')
        array = np.asarray(picture, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as error:
        raise DemoError(f'{name!r} is a damaged image: {error}') from None
    if min(array.shape[:2]) < 1:
        raise DemoError(f'{name!r} has no pixels ({width}x{height})')
    return np.ascontiguousarray(array)


def decode_mask(url: str, size: Tuple[int, int]) -> np.ndarray:
    """Bool (H, W) mask of a PNG data URL painted in the page (alpha > 0 = painted)."""
    prefix = 'data:image/png;base64,'
    if not isinstance(url, str) or not url.startswith(prefix):
        raise DemoError('the drawn mask must be a PNG data URL')
    try:
        picture = Image.open(io.BytesIO(base64.b64decode(url[len(prefix):], validate=True)))
        array = np.asarray(picture.convert('RGBA'))
    except (ValueError, OSError, UnidentifiedImageError):
        raise DemoError('the drawn mask is not a readable PNG') from None
    if array.shape[:2] != tuple(size):
        raise DemoError(f'the drawn mask is {array.shape[1]}x{array.shape[0]} pixels, the frame '
                        f'{size[1]}x{size[0]}')
    mask = array[..., 3] > 0
    if not mask.any():
        raise DemoError('the drawn mask is empty: paint over the object first')
    return mask


def clean_names(names, what: str, limit: int) -> List[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DemoError(f'{what} must be a list of class names')
    names = [' '.join(n.split()) for n in names]
    names = [n for n in names if n]
    if len(names) > limit:
        raise DemoError(f'{len(names)} {what}: the demo accepts at most {limit} classes')
    return names
