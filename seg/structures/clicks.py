"""Click geometry shared by the prompt pipelines (training / test clicks) and the multi-click
evaluation protocol. Clicks are (x, y) pixel indices of the ground-truth mask's image.

* First click (the reference's protocol, upstream ``InsClsIoUMetric`` with centre points from
  ``seg/datasets/pipelines/``): the interior point farthest from the mask boundary (the image
  border counts as boundary), by an exact Euclidean distance transform. Ties are broken by the
  tied pixel nearest to the tied pixels' mean, then raster order (this reproduces the
  reference's clicks on its test case).
* Next click (the standard multi-click protocol of interactive-segmentation papers): the
  largest connected error region (8-connected; false negatives and false positives compared by
  area, false negatives first on ties) is clicked at its own farthest-from-boundary point; a
  click in a false-negative region is positive, in a false-positive region negative.
"""
from typing import Optional, Sequence, Tuple

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
