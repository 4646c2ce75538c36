"""Semantic segmentation aAcc / mIoU / mAcc with mmseg's `IoUMetric` conventions.

Pixels whose GT equals `ignore_index` are dropped; predicted labels outside [0, num_classes)
count in no class (a miss for the GT class), as torch.histc does in mmseg. Per-class IoU / Acc
are NaN when undefined (0 / 0) and the means skip NaN.
"""
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from seg.utils.json_files import read_json
from .formats import PathLike, with_progress
from .input_checks import check_label_range, check_semantic_files, read_label_map
from .panoptic_quality import PanopticCategories, segment_indices, segment_table

Areas = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def intersect_and_union(pred: np.ndarray, label: np.ndarray, num_classes: int,
                        ignore_index: int, where: str = 'label map') -> Areas:
    """Per-class (intersection, union, predicted, GT) pixel counts of one image."""
    pred = np.asarray(pred).astype(np.int64)
    label = np.asarray(label).astype(np.int64)
    if pred.shape != label.shape:
        raise ValueError(f'{where}: prediction shape {pred.shape} differs from the GT shape '
                         f'{label.shape}')
    keep = label != ignore_index
    pred, label = pred[keep], label[keep]
    invalid = (label < 0) | (label >= num_classes)
    if invalid.any():
        raise ValueError(f'{where}: GT label {label[invalid][0]} is outside [0, {num_classes}) '
                         f'and is not the ignore index {ignore_index}')
    area_intersect = np.bincount(label[pred == label], minlength=num_classes)
    in_range = (pred >= 0) & (pred < num_classes)
    area_pred = np.bincount(pred[in_range], minlength=num_classes)
    area_label = np.bincount(label, minlength=num_classes)
    area_union = area_pred + area_label - area_intersect
    return area_intersect, area_union, area_pred, area_label


def semantic_metrics(area_intersect: np.ndarray, area_union: np.ndarray, area_pred: np.ndarray,
                     area_label: np.ndarray,
                     class_names: Optional[Sequence[str]] = None) -> dict:
    """aAcc, mIoU, mAcc (fractions) and `per_class` from dataset-total areas."""
    area_intersect, area_union, area_pred, area_label = (
        np.asarray(a, np.float64) for a in (area_intersect, area_union, area_pred, area_label))
    names = list(class_names) if class_names is not None else [
        str(i) for i in range(area_intersect.size)]
    if len(names) != area_intersect.size:
        raise ValueError(f'{len(names)} class names for {area_intersect.size} classes')
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = area_intersect / area_union
        acc = area_intersect / area_label
        all_acc = area_intersect.sum() / area_label.sum()
    per_class = {name: {'IoU': float(iou[i]), 'Acc': float(acc[i]),
                        'area_intersect': float(area_intersect[i]),
                        'area_union': float(area_union[i]), 'area_pred': float(area_pred[i]),
                        'area_label': float(area_label[i])} for i, name in enumerate(names)}
    return {'aAcc': float(all_acc), 'mIoU': _nanmean(iou), 'mAcc': _nanmean(acc),
            'per_class': per_class}


def _nanmean(values: np.ndarray) -> float:
    valid = values[~np.isnan(values)]
    return float(valid.mean()) if valid.size else float('nan')


def semantic_from_panoptic(id_map: np.ndarray, segments: Sequence[dict],
                           categories: PanopticCategories, ignore_index: int,
                           ignore_crowd: bool = True, where: str = 'panoptic GT') -> np.ndarray:
    """Contiguous class map (category position) of a panoptic GT.

    Void pixels get `ignore_index`; crowd pixels too when `ignore_crowd` (this codebase's
    `gt_sem_seg` convention), else their class (mmdet's `LoadPanopticAnnotations`).
    """
    table = segment_table(segments, categories, where, is_gt=True)
    crowd_label = np.where(table.iscrowd & ignore_crowd, ignore_index, table.category)
    label_of_index = np.concatenate([[ignore_index], crowd_label])
    return label_of_index[segment_indices(id_map, table.ids, where)].reshape(id_map.shape)


def reduce_zero_label(label: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """mmseg's `reduce_zero_label`: label 0 becomes ignore, every other label shifts down."""
    label = np.asarray(label).astype(np.int64)
    reduced = label - 1
    reduced[(label == 0) | (label == ignore_index)] = ignore_index
    return reduced


def evaluate_semantic(gt_dir: PathLike, pred_dir: PathLike, meta_json: Optional[PathLike] = None,
                      num_classes: Optional[int] = None, ignore_index: Optional[int] = None,
                      progress: bool = False) -> dict:
    """mIoU of a folder of predicted label PNGs against a folder of GT label PNGs.

    `meta_json` (keys `classes`, optional `ignore_index`, `reduce_zero_label`, `files`) or
    `num_classes` defines the classes; `ignore_index` overrides the meta's (default 255).
    Files are the meta's `files` list, else every PNG of `gt_dir`; each needs a prediction of
    the same name in `pred_dir`.
    """
    meta: Dict = read_json(meta_json) if meta_json is not None else {}
    class_names = meta.get('classes')
    if class_names is None and num_classes is None:
        raise ValueError(f'{meta_json}: missing key \'classes\' (or give num_classes)'
                         if meta_json is not None else
                         'give either a meta json with `classes` or num_classes')
    if num_classes is None:
        num_classes = len(class_names)
    elif class_names is not None and len(class_names) != num_classes:
        raise ValueError(f'{meta_json} lists {len(class_names)} classes, num_classes is '
                         f'{num_classes}')
    if ignore_index is None:
        ignore_index = int(meta.get('ignore_index', 255))
    gt_dir, pred_dir = Path(gt_dir), Path(pred_dir)
    files = meta.get('files') or sorted(p.name for p in gt_dir.glob('*.png'))
    if not files:
        raise FileNotFoundError(f'no PNG label maps found in {gt_dir}')
    check_semantic_files(files, gt_dir, pred_dir, str(meta_json) if meta.get('files')
                         else str(gt_dir))
    totals = [np.zeros(num_classes, np.int64) for _ in range(4)]
    for name in with_progress(files, progress, len(files), 'mIoU'):
        label = read_label_map(gt_dir / name)
        if meta.get('reduce_zero_label', False):
            label = reduce_zero_label(label, ignore_index)
        pred = read_label_map(pred_dir / name)
        check_label_range(pred, num_classes, ignore_index, pred_dir / name)
        areas = intersect_and_union(pred, label, num_classes, ignore_index,
                                    where=f'{pred_dir / name} (GT {gt_dir / name})')
        for total, area in zip(totals, areas):
            total += area
    return semantic_metrics(*totals, class_names=class_names)
