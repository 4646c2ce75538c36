"""Interactive (click) segmentation protocols and metrics, in numpy.

Clicks are (x, y) pixel indices of the ground-truth mask's image; where the first and the next
click go is click geometry (``seg.structures.clicks``).

* Feedback, two modes:

  - ``'multi_point'`` (models whose prompts carry several clicks): after k clicks the object is
    one prompt holding all k clicks (positive and negative), decoded afresh; its mask is the
    object's mask. A further click refines the prompt instead of editing a mask.
  - ``'compose'`` (models that take one click per prompt, the reference): every click is
    decoded on its own (one prompt query), a positive click adds its mask to the current mask,
    a negative click removes its mask from it: ``mask_k = mask_{k-1} | m_k`` or
    ``mask_{k-1} & ~m_k``.
* Metrics: IoU after each click; NoC@t = clicks needed to reach IoU >= t (``max_clicks`` when
  never reached, as usual), NoF@t = objects that never reach it, mIoU@k = mean IoU after k
  clicks. An object stops being clicked once its IoU reaches ``stop_iou``; its IoU is carried
  forward to ``max_clicks``.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from seg.structures.clicks import (Click, farthest_interior_point,  # noqa: F401 (re-exported)
                                   input_scale_of_masks, next_click)


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two boolean masks (1.0 when both are empty)."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


def compose_click_mask(current: Optional[np.ndarray], click_mask: np.ndarray,
                       positive: bool) -> np.ndarray:
    """Object mask after a click whose own decoded mask is ``click_mask``."""
    click_mask = np.asarray(click_mask, dtype=bool)
    if current is None:
        return click_mask.copy()
    return (current | click_mask) if positive else (current & ~click_mask)


ClickPredictor = Callable[[np.ndarray], np.ndarray]
FEEDBACK_MODES = ('compose', 'multi_point')


def simulate_clicks(predict: Callable, gt_masks: np.ndarray, max_clicks: int = 20,
                    stop_iou: Optional[float] = 0.9, mode: str = 'compose'
                    ) -> Tuple[np.ndarray, List[List[Click]]]:
    """Run the multi-click protocol on every object of one image.

    Args:
        predict: ``'compose'``: maps (n, 2) click coordinates (x, y) to the (n, H, W) boolean
            masks the model decodes for them, one independent prompt per click.
            ``'multi_point'``: maps a list of n click sequences (each a list of (x, y,
            positive), first click positive) to the (n, H, W) masks of n prompts, each
            holding its whole sequence.
        gt_masks: (M, H, W) boolean ground-truth masks (every one non-empty).
        max_clicks: clicks per object.
        stop_iou: an object whose IoU reaches it gets no further clicks (None: never stop).
        mode: the feedback mode (see the module doc).
    Returns:
        ious (M, max_clicks) and the clicks given to each object.
    """
    if mode not in FEEDBACK_MODES:
        raise ValueError(f'mode must be one of {FEEDBACK_MODES}, got {mode!r}')
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
            if mode == 'multi_point':
                decoded = predict([clicks[i] + [pending[i]] for i in objects])
            else:
                decoded = predict(np.array([pending[i][:2] for i in objects], dtype=np.float32))
            decoded = np.asarray(decoded, dtype=bool)
            if decoded.shape != (len(objects),) + gt_masks.shape[1:]:
                raise ValueError(f'predict returned masks of shape {decoded.shape} for '
                                 f'{len(objects)} clicks on {gt_masks.shape[1:]} images')
            for row, i in enumerate(objects):
                clicks[i].append(pending[i])
                if mode == 'multi_point':
                    current[i] = decoded[row].copy()
                else:
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
