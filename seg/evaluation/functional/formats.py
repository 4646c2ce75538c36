"""Readers for the official evaluation file formats (panoptic PNGs, label PNGs, json)."""
import multiprocessing
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
from PIL import Image

from seg.utils.json_files import read_json

PathLike = Union[str, Path]

# COCO-style panoptic PNG: segment id = R + 256 * G + 256^2 * B; id 0 is void.
VOID_SEGMENT_ID = 0


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """Decode an (H, W, 3) RGB panoptic image into an (H, W) uint32 segment-id map."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f'expected an (H, W, 3) RGB array, got shape {rgb.shape}')
    rgb = rgb[..., :3].astype(np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """Encode an (H, W) segment-id map (ids < 2^24) as an (H, W, 3) uint8 RGB image."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= 256 ** 3):
        raise ValueError(f'segment ids must lie in [0, 2^24), got [{ids.min()}, {ids.max()}]')
    ids = ids.astype(np.uint32)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)


def read_panoptic_png(path: PathLike) -> np.ndarray:
    """Read an RGB-encoded panoptic PNG as an (H, W) uint32 segment-id map."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'panoptic PNG not found: {path}')
    with Image.open(path) as image:
        array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] < 3:
        raise ValueError(f'{path}: expected an RGB panoptic PNG, got shape {array.shape}')
    return rgb_to_id(array)


def write_panoptic_png(path: PathLike, ids: np.ndarray) -> None:
    """Write an (H, W) segment-id map as an RGB-encoded panoptic PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(id_to_rgb(ids)).save(path)


def read_label_png(path: PathLike) -> np.ndarray:
    """Read a single-channel (grey or palette-indexed) PNG as an (H, W) integer array."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'label PNG not found: {path}')
    with Image.open(path) as image:
        array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel (grey or indexed) PNG, '
                         f'got an image of shape {array.shape}')
    return array


def load_json(path: PathLike) -> Any:
    """Load a json file, naming the file in the error when it is missing or invalid."""
    return read_json(path)


def require_key(mapping: dict, key: str, where: str) -> Any:
    """`mapping[key]`, or a KeyError that names `where` the mapping came from."""
    if key not in mapping:
        raise KeyError(f'{where}: missing key {key!r}')
    return mapping[key]


def to_numpy(value: Any) -> np.ndarray:
    """Convert a torch tensor (any device) or array-like to a numpy array."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def with_progress(items: Iterable, enabled: bool, total: Optional[int] = None,
                  desc: str = '') -> Iterator:
    """Iterate `items`, showing a tqdm progress bar on stderr when `enabled`."""
    if not enabled:
        yield from items
        return
    from tqdm import tqdm
    yield from tqdm(items, total=total, desc=desc)


# Worker start: fork where the platform has it (workers run numpy only, so forking a parent
# that imported torch is safe and skips the 2-3 s re-import per worker), spawn elsewhere.
START_METHOD = 'fork' if 'fork' in multiprocessing.get_all_start_methods() else 'spawn'


def map_in_processes(function: Callable, items: Sequence, nproc: int = 1,
                     progress: bool = False, desc: str = '') -> Iterator:
    """`function(item)` for every item, in input order; `nproc` > 1 uses a process pool.

    Results come back in the input order, so sums over them equal the nproc=1 sums exactly.
    `function` must be picklable (a module-level function or a partial of one).
    """
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}')
    if nproc == 1 or len(items) < 2:
        yield from with_progress(map(function, items), progress, len(items), desc)
        return
    with multiprocessing.get_context(START_METHOD).Pool(min(nproc, len(items))) as pool:
        yield from with_progress(pool.imap(function, items), progress, len(items), desc)
