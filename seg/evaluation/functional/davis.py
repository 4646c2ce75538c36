"""DAVIS-2017 semi-supervised J (region IoU) and F (boundary F-measure), as davis2017-evaluation.

* Objects are the ids 1..N of the first GT frame; GT 255 (void) becomes background.
* The first and the last frame of each sequence are not scored.
* J: IoU per object and frame, 1 when both masks are empty.
* F: boundary precision / recall with a tolerance of ceil(0.008 * image diagonal) pixels
  (disk dilation), F = 2PR / (P + R).
* Per object: mean, recall (fraction of frames > 0.5) and decay (mean of the first quarter of
  frames minus mean of the last quarter); global values are means over all objects and
  J&F-Mean = (J-Mean + F-Mean) / 2.
"""
from pathlib import Path
from typing import Dict, Tuple

import cv2
import numpy as np

from .formats import PathLike, with_progress
from .input_checks import check_davis_results, read_label_map

BOUNDARY_THRESHOLD = 0.008
DAVIS_VOID = 255
GLOBAL_KEYS = ('J&F-Mean', 'J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall', 'F-Decay')


def disk(radius: float) -> np.ndarray:
    """skimage's `disk(radius)`: pixels within `radius` of the centre, uint8."""
    offsets = np.arange(-radius, radius + 1)
    x, y = np.meshgrid(offsets, offsets)
    return (x ** 2 + y ** 2 <= radius ** 2).astype(np.uint8)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary of a binary mask (DAVIS' `_seg2bmap` at the mask's own size)."""
    mask = mask.astype(bool)
    east, south, south_east = (np.zeros_like(mask) for _ in range(3))
    east[:, :-1] = mask[:, 1:]
    south[:-1, :] = mask[1:, :]
    south_east[:-1, :-1] = mask[1:, 1:]
    boundary = (mask ^ east) | (mask ^ south) | (mask ^ south_east)
    boundary[-1, :] = mask[-1, :] ^ east[-1, :]
    boundary[:, -1] = mask[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def boundary_f_measure(pred_mask: np.ndarray, gt_mask: np.ndarray,
                       bound_th: float = BOUNDARY_THRESHOLD) -> float:
    """F-measure of the predicted boundary against the GT boundary with DAVIS' tolerance."""
    bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(pred_mask.shape))
    pred_boundary = boundary_map(pred_mask)
    gt_boundary = boundary_map(gt_mask)
    kernel = disk(bound_pix)
    pred_dilated = cv2.dilate(pred_boundary.astype(np.uint8), kernel).astype(bool)
    gt_dilated = cv2.dilate(gt_boundary.astype(np.uint8), kernel).astype(bool)
    num_pred, num_gt = int(pred_boundary.sum()), int(gt_boundary.sum())
    if num_pred == 0 and num_gt == 0:
        return 1.0
    if num_pred == 0 or num_gt == 0:
        return 0.0  # precision or recall is 0 and the other is 1
    precision = np.sum(pred_boundary & gt_dilated) / num_pred
    recall = np.sum(gt_boundary & pred_dilated) / num_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def region_iou(pred_masks: np.ndarray, gt_masks: np.ndarray) -> np.ndarray:
    """Per-frame IoU of (T, H, W) binary masks; 1 where both are empty."""
    pred_masks, gt_masks = pred_masks.astype(bool), gt_masks.astype(bool)
    intersection = np.sum(pred_masks & gt_masks, axis=(-2, -1))
    union = np.sum(pred_masks | gt_masks, axis=(-2, -1))
    return np.where(union == 0, 1.0, intersection / np.maximum(union, 1))


def db_statistics(values: np.ndarray) -> Tuple[float, float, float]:
    """Mean, recall (> 0.5) and decay (first minus last quarter) of per-frame values."""
    values = np.asarray(values, np.float64)
    with np.errstate(invalid='ignore'):
        mean = float(np.nanmean(values)) if values.size else float('nan')
        recall = float(np.nanmean(values > 0.5)) if values.size else float('nan')
    ids = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(np.int64)
    bins = [values[ids[i]:ids[i + 1] + 1] for i in range(4)]
    with np.errstate(invalid='ignore'):
        decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3])) if values.size else float('nan')
    return mean, recall, decay


def evaluate_sequence(gt_labels: np.ndarray, pred_labels: np.ndarray, where: str = 'sequence',
                      bound_th: float = BOUNDARY_THRESHOLD) -> Dict[int, Tuple[np.ndarray,
                                                                                np.ndarray]]:
    """Per-object (J, F) arrays over the scored frames of one sequence.

    `gt_labels` / `pred_labels`: (T, H, W) integer maps, 0 background, k object k, GT 255 void.
    """
    gt_labels, pred_labels = np.asarray(gt_labels), np.asarray(pred_labels)
    if gt_labels.shape != pred_labels.shape:
        raise ValueError(f'{where}: prediction shape {pred_labels.shape} differs from the GT '
                         f'shape {gt_labels.shape}')
    if gt_labels.ndim != 3 or gt_labels.shape[0] < 3:
        raise ValueError(f'{where}: expected (T >= 3, H, W) label maps, got {gt_labels.shape}')
    gt_labels = np.where(gt_labels == DAVIS_VOID, 0, gt_labels)
    num_objects = int(gt_labels[0].max())
    gt_scored, pred_scored = gt_labels[1:-1], pred_labels[1:-1]
    if pred_scored.max() > num_objects:
        raise ValueError(f'{where}: the prediction holds object id {int(pred_scored.max())} but '
                         f'the first GT frame has {num_objects} objects')
    results = {}
    for obj in range(1, num_objects + 1):
        gt_masks, pred_masks = gt_scored == obj, pred_scored == obj
        j = region_iou(pred_masks, gt_masks)
        f = np.array([boundary_f_measure(p, g, bound_th) for p, g in zip(pred_masks, gt_masks)])
        results[obj] = (j, f)
    return results


def davis_summary(per_object: Dict[str, Tuple[np.ndarray, np.ndarray]]) -> dict:
    """`global` (J&F-Mean, J-/F- Mean, Recall, Decay) and `per_object` statistics."""
    if not per_object:
        raise ValueError('no DAVIS objects to evaluate')
    rows = {}
    for name, (j, f) in per_object.items():
        j_stats, f_stats = db_statistics(j), db_statistics(f)
        rows[name] = dict(zip(('J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall',
                               'F-Decay'), j_stats + f_stats))
    means = {key: float(np.mean([row[key] for row in rows.values()]))
             for key in ('J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall', 'F-Decay')}
    overall = {'J&F-Mean': (means['J-Mean'] + means['F-Mean']) / 2, **means}
    return {'global': {key: overall[key] for key in GLOBAL_KEYS}, 'per_object': rows}


def _read_frame(path: Path, shape) -> np.ndarray:
    """One indexed PNG (GT or result), of the GT frame's shape when given."""
    labels = read_label_map(path)
    if shape is not None and labels.shape != shape:
        raise ValueError(f'{path}: result of size {labels.shape}, the annotation is {shape}')
    return labels


def evaluate_davis(davis_root: PathLike, results_dir: PathLike, subset: str = 'val',
                   resolution: str = '480p', progress: bool = False) -> dict:
    """Semi-supervised J&F of indexed-PNG results `<results_dir>/<sequence>/<frame>.png`."""
    davis_root, results_dir = Path(davis_root), Path(results_dir)
    list_file = davis_root / 'ImageSets' / '2017' / f'{subset}.txt'
    if not list_file.is_file():
        raise FileNotFoundError(f'DAVIS sequence list not found: {list_file}')
    sequences = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    check_davis_results(results_dir, sequences)
    per_object = {}
    for sequence in with_progress(sequences, progress, len(sequences), 'DAVIS'):
        frames = sorted((davis_root / 'Annotations' / resolution / sequence).glob('*.png'))
        if not frames:
            raise FileNotFoundError(f'no annotations for sequence {sequence} in '
                                    f'{davis_root / "Annotations" / resolution / sequence}')
        gt = np.stack([_read_frame(path, None) for path in frames])
        pred = np.stack([np.zeros_like(gt[0]) if t in (0, len(frames) - 1) else
                         _read_frame(results_dir / sequence / path.name, gt[t].shape)
                         for t, path in enumerate(frames)])
        for obj, scores in evaluate_sequence(gt, pred, where=f'sequence {sequence}').items():
            per_object[f'{sequence}_{obj}'] = scores
    return davis_summary(per_object)
