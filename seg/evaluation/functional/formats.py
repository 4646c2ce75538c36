"""Readers for the official evaluation file formats (label PNGs) and evaluation plumbing.

Panoptic PNGs are read and written with ``seg.structures.panoptic_io``, json files with
``seg.utils.json_files.read_json``.
"""
import multiprocessing
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
from PIL import Image

# Still imported from here by seg.evaluation.metrics; new code imports them from their modules.

PathLike = Union[str, Path]

# Void segment id of COCO-style panoptic PNGs.
VOID_SEGMENT_ID = 0


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
