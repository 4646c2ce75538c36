"""Interactive (click) segmentation protocols and metrics, in numpy.

Clicks are (x, y) pixel indices of the ground-truth mask's image.

* First click (the reference's protocol, reference section 2.3): the interior point farthest
  from the mask boundary (the image border counts as boundary), by an exact Euclidean distance
  transform. Ties are broken by the tied pixel nearest to the tied pixels' mean, then raster
  order (this reproduces the reference's clicks on its test case).
* Next click (the standard multi-click protocol of interactive-segmentation papers): the
  largest connected error region (8-connected; false negatives and false positives compared by
  area, false negatives first on ties) is clicked at its own farthest-from-boundary point; a
  click in a false-negative region is positive, in a false-positive region negative.
* Feedback: the model takes one location prompt per query and no mask input, so the state of
  an object after k clicks is composed here: every click is decoded by the model on its own
  (one prompt query), a positive click adds its mask to the current mask, a negative click
  removes its mask from it: ``mask_k = mask_{k-1} | m_k`` or ``mask_{k-1} & ~m_k``.
* Metrics: IoU after each click; NoC@t = clicks needed to reach IoU >= t (``max_clicks`` when
  never reached, as usual), NoF@t = objects that never reach it, mIoU@k = mean IoU after k
  clicks. An object stops being clicked once its IoU reaches ``stop_iou``; its IoU is carried
  forward to ``max_clicks``.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

Click = Tuple[int, int, bool]  # x, y, positive


def farthest_interior_point(mask: np.ndarray) -> Tuple[int, int]:
    """(x, y) of the pixel of ``mask`` farthest from its boundary (ties: see module doc)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or not mask.any():
        raise ValueError(f'farthest_interior_point needs a non-empty (H, W) mask, got shape '
                         f'{mask.shape} with {int(mask.sum())} pixels')
    padded = np.pad(mask.astype(np.uint8), 1)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    ys, xs = np.nonzero(distance >= distance.max() - 1e-4)
    centre = np.array([xs.mean(), ys.mean()])
    offsets = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2
    best = int(np.argmin(offsets))  # first minimum = raster order among equals
    return int(xs[best]), int(ys[best])


def input_scale_of_masks(mask_shape: Sequence[int], img_shape: Sequence[int],
                         ori_shape: Optional[Sequence[int]],
                         scale_factor: Sequence[float] = (1.0, 1.0)
                         ) -> Tuple[Tuple[float, float], Tuple[int, int]]:
    """(x, y) factors from GT-mask pixels to network-input pixels, and the GT size.

    GT masks at the network-input size (``img_shape``) need no scaling; masks at the original
    size (``ori_shape``, test pipelines load annotations after ``Resize``) are scaled by
    ``scale_factor`` = (w_scale, h_scale).
    """
    mask_shape = tuple(int(v) for v in mask_shape[-2:])
    if mask_shape == tuple(int(v) for v in img_shape[:2]):
        return (1.0, 1.0), mask_shape
    if ori_shape is not None and mask_shape == tuple(int(v) for v in ori_shape[:2]):
        return (float(scale_factor[0]), float(scale_factor[1])), mask_shape
    raise ValueError(f'GT masks of size {mask_shape} match neither img_shape {tuple(img_shape)} '
                     f'nor ori_shape {None if ori_shape is None else tuple(ori_shape)}')


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two boolean masks (1.0 when both are empty)."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


def _largest_component(mask: np.ndarray) -> Tuple[int, Optional[np.ndarray]]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                               connectivity=8)
    if count <= 1:
        return 0, None
    areas = stats[1:, cv2.CC_STAT_AREA]
    best = int(np.argmax(areas))  # first maximum = first component in raster order
    return int(areas[best]), labels == best + 1


def next_click(pred: np.ndarray, gt: np.ndarray) -> Optional[Click]:
    """The corrective click for ``pred`` against ``gt``; None when they agree everywhere."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction {pred.shape} and ground truth {gt.shape} differ in size')
    fn_area, fn_region = _largest_component(gt & ~pred)
    fp_area, fp_region = _largest_component(pred & ~gt)
    if fn_region is None and fp_region is None:
        return None
    positive = fn_area >= fp_area
    x, y = farthest_interior_point(fn_region if positive else fp_region)
    return x, y, positive


def compose_click_mask(current: Optional[np.ndarray], click_mask: np.ndarray,
                       positive: bool) -> np.ndarray:
    """Object mask after a click whose own decoded mask is ``click_mask``."""
    click_mask = np.asarray(click_mask, dtype=bool)
    if current is None:
        return click_mask.copy()
    return (current | click_mask) if positive else (current & ~click_mask)


ClickPredictor = Callable[[np.ndarray], np.ndarray]


def simulate_clicks(predict: ClickPredictor, gt_masks: np.ndarray, max_clicks: int = 20,
                    stop_iou: Optional[float] = 0.9) -> Tuple[np.ndarray, List[List[Click]]]:
    """Run the multi-click protocol on every object of one image.

    Args:
        predict: maps (n, 2) click coordinates (x, y) to the (n, H, W) boolean masks the model
            decodes for them, one independent prompt per click.
        gt_masks: (M, H, W) boolean ground-truth masks (every one non-empty).
        max_clicks: clicks per object.
        stop_iou: an object whose IoU reaches it gets no further clicks (None: never stop).
    Returns:
        ious (M, max_clicks) and the clicks given to each object.
    """
    gt_masks = np.asarray(gt_masks, dtype=bool)
    if gt_masks.ndim != 3:
        raise ValueError(f'gt_masks must be (M, H, W), got shape {gt_masks.shape}')
    if max_clicks < 1:
        raise ValueError(f'max_clicks must be >= 1, got {max_clicks}')
    num_objects = len(gt_masks)
    ious = np.zeros((num_objects, max_clicks), dtype=np.float64)
    clicks: List[List[Click]] = [[] for _ in range(num_objects)]
    current: List[Optional[np.ndarray]] = [None] * num_objects
    pending: Dict[int, Click] = {i: (*farthest_interior_point(gt_masks[i]), True)
                                 for i in range(num_objects)}
    for round_index in range(max_clicks):
        if pending:
            objects = sorted(pending)
            points = np.array([pending[i][:2] for i in objects], dtype=np.float32)
            decoded = np.asarray(predict(points), dtype=bool)
            if decoded.shape != (len(objects),) + gt_masks.shape[1:]:
                raise ValueError(f'predict returned masks of shape {decoded.shape} for '
                                 f'{len(objects)} clicks on {gt_masks.shape[1:]} images')
            for row, i in enumerate(objects):
                clicks[i].append(pending[i])
                current[i] = compose_click_mask(current[i], decoded[row], pending[i][2])
        pending = {}
        for i in range(num_objects):
            ious[i, round_index] = mask_iou(current[i], gt_masks[i])
            reached = stop_iou is not None and ious[i, round_index] >= stop_iou
            if round_index + 1 < max_clicks and not reached and len(clicks[i]) == round_index + 1:
                click = next_click(current[i], gt_masks[i])
                if click is not None:
                    pending[i] = click
    return ious, clicks


def clicks_to_reach(ious: np.ndarray, threshold: float) -> np.ndarray:
    """Per object: the first click count (1-based) with IoU >= threshold, else max_clicks."""
    ious = np.atleast_2d(np.asarray(ious, dtype=np.float64))
    reached = ious >= threshold
    return np.where(reached.any(axis=1), reached.argmax(axis=1) + 1, ious.shape[1])


def interactive_summary(ious: np.ndarray, noc_thresholds: Sequence[float] = (0.85, 0.9),
                        miou_clicks: Sequence[int] = (1, 3, 5, 10, 20)) -> Dict[str, float]:
    """``NoC@85``, ``NoF@85``, ... and ``mIoU@k`` over all objects (rows of ``ious``).

    With a single click column only ``mIoU@1`` is reported (the reference protocol).
    """
    ious = np.asarray(ious, dtype=np.float64)
    if ious.ndim != 2 or ious.shape[0] == 0:
        raise ValueError(f'interactive_summary needs (objects >= 1, clicks) IoUs, got shape '
                         f'{ious.shape}')
    max_clicks = ious.shape[1]
    summary = {}
    if max_clicks > 1:
        for threshold in noc_thresholds:
            needed = clicks_to_reach(ious, threshold)
            name = f'{round(threshold * 100):d}'
            summary[f'NoC@{name}'] = float(needed.mean())
            summary[f'NoF@{name}'] = int((ious.max(axis=1) < threshold).sum())
    for k in miou_clicks:
        if k <= max_clicks:
            summary[f'mIoU@{k}'] = float(ious[:, k - 1].mean())
    summary['num_objects'] = int(ious.shape[0])
    return summary
