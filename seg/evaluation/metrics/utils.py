"""Helpers shared by the metric classes: reading data-sample dicts and logging tables."""
from typing import Any, Iterable, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from seg.structures.panoptic_io import read_panoptic_png
from ..functional.formats import VOID_SEGMENT_ID, to_numpy
from ..functional.panoptic_quality import PanopticCategories


def sample_field(sample: dict, key: str, where: str) -> Any:
    """`sample[key]`, or a KeyError naming the sample and listing the keys it has."""
    if key not in sample:
        raise KeyError(f'{where}: data sample has no {key!r} (keys: {sorted(sample)})')
    return sample[key]


def pixel_map(sample: dict, key: str, where: str) -> np.ndarray:
    """The (H, W) array of a `PixelData` dict field (`sample[key]['sem_seg']`, shape (1, H, W))."""
    value = to_numpy(sample_field(sample_field(sample, key, where), 'sem_seg', f'{where}.{key}'))
    if value.ndim == 3 and value.shape[0] == 1:
        value = value[0]
    if value.ndim != 2:
        raise ValueError(f'{where}.{key}.sem_seg: expected shape (1, H, W), got {value.shape}')
    return value


def gt_panoptic(sample: dict, where: str) -> Tuple[np.ndarray, list, str]:
    """GT id map, segment list and PNG path of an image sample.

    Ids listed in the optional `ignored_segment_ids` (segments of classes the dataset left
    out) become void.
    """
    path = sample_field(sample, 'seg_map_path', where)
    id_map = read_panoptic_png(path)
    ignored = list(sample.get('ignored_segment_ids', ()))
    if ignored:
        id_map[np.isin(id_map, ignored)] = VOID_SEGMENT_ID
    return id_map, sample_field(sample, 'segments_info', where), str(path)


def describe(sample: dict) -> str:
    """Short identification of an image sample for error messages."""
    return f"image {sample.get('img_id')} ({sample.get('img_path', sample.get('seg_map_path'))})"


def categories_from_meta(meta: dict, metric: str) -> PanopticCategories:
    """Panoptic categories of the dataset, with an error naming the metric if unset."""
    if meta is None:
        raise ValueError(f'{metric}: dataset_meta is not set (the runner sets it from the '
                         'dataset; set `metric.dataset_meta` when calling it directly)')
    return PanopticCategories.from_dataset_meta(meta)


def log_table(title: str, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Print a plain text table through mmengine's current logger."""
    lines = [title, ' | '.join(f'{h:>10}' for h in header)]
    for row in rows:
        lines.append(' | '.join(f'{v:>10.4f}' if isinstance(v, float) else f'{str(v):>10}'
                                for v in row))
    print_log('\n'.join(lines), logger='current')
