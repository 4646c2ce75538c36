"""Reading image files with errors that name the file (datasets, the API, panoptic PNGs)."""
from pathlib import Path
from typing import Union

import cv2
import numpy as np


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
