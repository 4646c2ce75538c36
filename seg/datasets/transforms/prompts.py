"""Interactive-segmentation data: every segment as an instance, prompts sampled from masks.

Prompts live in the results as ``prompt_boxes`` (N, 4) float32 pixel boxes (x1, y1, x2, y2) of
the current image and ``prompt_is_point`` (N,) bool; a click is the zero-size box (x, y, x, y)
of its pixel (the model widens it, see ``seg.models.heads.prompt_encoder``). Prompt i belongs to
``gt_masks[i]`` / ``gt_labels[i]``: the prompt steps reorder the instances accordingly.
Multi-point prompts add ``prompt_points`` (N, P, 2) float32 pixel x, y of extra clicks and
``prompt_point_labels`` (N, P) int64 (1 positive, 0 negative, -1 none).
``PackInteractiveInputs`` puts them in ``data_sample.prompts``.
"""
from typing import Optional

import numpy as np
import torch
from mmengine.structures import InstanceData

from seg.structures.clicks import farthest_interior_point, input_scale_of_masks
from seg.registry import TRANSFORMS
from seg.structures.masks import mask_to_box
from seg.utils.constants import VOID_LABEL
from .base import BaseTransform
from .formatting import PackSegInputs

PROMPT_MODES = ('point', 'box', 'mix')


def _require(results: dict, keys, step: str) -> None:
    missing = [key for key in keys if key not in results]
    if missing:
        raise KeyError(f'{step} needs {missing} in the results (have {sorted(results)})')


@TRANSFORMS.register_module()
class AddStuffInstances(BaseTransform):
    """Append one instance per stuff class present in ``gt_seg_map`` to the thing instances,
    so every panoptic segment (stuff included, crowd and void excluded) becomes promptable.

    Args:
        num_things_classes: labels below it are things; default: ``results['num_things_classes']``
            (set by ``CocoPanopticInteractiveDataset``).
    """

    def __init__(self, num_things_classes: Optional[int] = None) -> None:
        self.num_things_classes = num_things_classes

    def transform(self, results: dict) -> dict:
        _require(results, ('gt_masks', 'gt_labels', 'gt_seg_map'), 'AddStuffInstances')
        num_things = self.num_things_classes
        if num_things is None:
            _require(results, ('num_things_classes',), 'AddStuffInstances (no num_things_classes '
                     'argument)')
            num_things = results['num_things_classes']
        seg_map = results['gt_seg_map']
        stuff_labels = [int(label) for label in np.unique(seg_map)
                        if num_things <= label != VOID_LABEL]
        if stuff_labels:
            stuff_masks = np.stack([seg_map == label for label in stuff_labels]).astype(
                results['gt_masks'].dtype)
            results['gt_masks'] = np.concatenate([results['gt_masks'], stuff_masks])
            results['gt_labels'] = np.concatenate(
                [results['gt_labels'], np.asarray(stuff_labels, dtype=np.int64)])
        return results


@TRANSFORMS.register_module()
class GeneratePrompts(BaseTransform):
    """Training prompts: ``num_prompts`` instances per image, each with a click or a box.

    Instances are drawn in random order; with fewer instances than ``num_prompts`` the shuffled
    list is repeated (the reference tiles it), so every image yields exactly ``num_prompts``
    prompts. A click is a pixel drawn uniformly inside the mask (reference); a box is the
    mask's tight box.

    Args:
        num_prompts: N prompts per image (reference: 20).
        mode: ``'point'`` (reference), ``'box'`` or ``'mix'`` (each prompt a click with
            probability ``point_prob``).
        point_prob: click probability in ``'mix'`` mode.
        max_extra_points: multi-point prompts (0 = none, the reference): each prompt also gets
            0..max_extra_points extra clicks (uniform count), each positive (a pixel of the
            mask) with probability ``positive_prob``, else negative (a pixel outside the mask,
            preferably within the mask's box grown by its own size on every side, where
            corrective clicks land).
        positive_prob: probability of an extra click being positive.
    An image without instances returns ``None`` (the dataset draws another one).
    """

    def __init__(self, num_prompts: int = 20, mode: str = 'point', point_prob: float = 0.5,
                 max_extra_points: int = 0, positive_prob: float = 0.5) -> None:
        if num_prompts < 1:
            raise ValueError(f'num_prompts must be >= 1, got {num_prompts}')
        if mode not in PROMPT_MODES:
            raise ValueError(f'mode must be one of {PROMPT_MODES}, got {mode!r}')
        if not 0.0 <= point_prob <= 1.0:
            raise ValueError(f'point_prob must lie in [0, 1], got {point_prob}')
        if max_extra_points < 0:
            raise ValueError(f'max_extra_points must be >= 0, got {max_extra_points}')
        if not 0.0 <= positive_prob <= 1.0:
            raise ValueError(f'positive_prob must lie in [0, 1], got {positive_prob}')
        self.num_prompts = num_prompts
        self.mode = mode
        self.point_prob = point_prob
        self.max_extra_points = int(max_extra_points)
        self.positive_prob = float(positive_prob)

    def extra_points(self, mask: np.ndarray) -> tuple:
        """(P, 2) extra clicks and (P,) labels of one prompt on ``mask`` (-1 = none)."""
        points = np.zeros((self.max_extra_points, 2), dtype=np.float32)
        labels = np.full(self.max_extra_points, -1, dtype=np.int64)
        count = np.random.randint(self.max_extra_points + 1)
        if count == 0:
            return points, labels
        ys, xs = np.nonzero(mask)
        height, width = mask.shape
        x1, x2, y1, y2 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        bw, bh = x2 - x1, y2 - y1
        near = np.zeros_like(mask, dtype=bool)
        near[max(0, y1 - bh):min(height, y2 + bh), max(0, x1 - bw):min(width, x2 + bw)] = True
        outside = ~mask.astype(bool)
        near_ys, near_xs = np.nonzero(near & outside)
        if len(near_xs) == 0:
            near_ys, near_xs = np.nonzero(outside)
        for slot in range(count):
            positive = len(near_xs) == 0 or np.random.random_sample() < self.positive_prob
            pool_x, pool_y = (xs, ys) if positive else (near_xs, near_ys)
            pick = np.random.randint(len(pool_x))
            points[slot] = (pool_x[pick], pool_y[pick])
            labels[slot] = int(positive)
        return points, labels

    def transform(self, results: dict) -> Optional[dict]:
        _require(results, ('gt_masks', 'gt_labels'), 'GeneratePrompts')
        masks = results['gt_masks']
        non_empty = np.flatnonzero(masks.any(axis=(1, 2)))
        if len(non_empty) == 0:
            return None
        repeats = -(-self.num_prompts // len(non_empty))
        order = np.concatenate([np.random.permutation(non_empty) for _ in range(repeats)])
        order = order[:self.num_prompts]
        if self.mode == 'mix':
            is_point = np.random.random_sample(len(order)) < self.point_prob
        else:
            is_point = np.full(len(order), self.mode == 'point')
        boxes = np.zeros((len(order), 4), dtype=np.float32)
        for row, (index, point) in enumerate(zip(order, is_point)):
            if point:
                ys, xs = np.nonzero(masks[index])
                pick = np.random.randint(len(xs))
                boxes[row] = (xs[pick], ys[pick], xs[pick], ys[pick])
            else:
                boxes[row] = mask_to_box(masks[index])  # x2 / y2 one past the mask
        results['gt_masks'] = masks[order]
        results['gt_labels'] = np.asarray(results['gt_labels'])[order]
        results['prompt_boxes'] = boxes
        results['prompt_is_point'] = is_point
        if self.max_extra_points > 0:
            extra = [self.extra_points(masks[index]) for index in order]
            results['prompt_points'] = np.stack([points for points, _ in extra])
            results['prompt_point_labels'] = np.stack([labels for _, labels in extra])
        return results


@TRANSFORMS.register_module()
class GenerateEvalClicks(BaseTransform):
    """Evaluation prompts: one click per GT instance at its interior point farthest from the
    boundary (reference protocol), in network-input pixels.

    GT masks may be at the original resolution (loaded after ``Resize``, as in test
    pipelines): the click is computed there and scaled by ``scale_factor``. Instances keep
    their order (empty masks are dropped); an image without instances gets no prompts (an
    error at the model).
    """

    def transform(self, results: dict) -> dict:
        _require(results, ('gt_masks', 'gt_labels', 'img_shape'), 'GenerateEvalClicks')
        masks = results['gt_masks']
        (w_scale, h_scale), _ = input_scale_of_masks(
            masks.shape[-2:], results['img_shape'], results.get('ori_shape'),
            results.get('scale_factor', (1.0, 1.0)))
        keep = masks.any(axis=(1, 2))
        results['gt_masks'] = masks[keep]
        results['gt_labels'] = np.asarray(results['gt_labels'])[keep]
        boxes = np.zeros((int(keep.sum()), 4), dtype=np.float32)
        for row, mask in enumerate(results['gt_masks']):
            x, y = farthest_interior_point(mask)
            boxes[row] = (x * w_scale, y * h_scale, x * w_scale, y * h_scale)
        results['prompt_boxes'] = boxes
        results['prompt_is_point'] = np.ones(len(boxes), dtype=bool)
        return results


@TRANSFORMS.register_module()
class PackInteractiveInputs(PackSegInputs):
    """``PackSegInputs`` plus ``data_sample.prompts`` = ``InstanceData(boxes, is_point)`` (and
    ``points`` / ``point_labels`` for multi-point prompts)."""

    def transform(self, results: dict) -> dict:
        _require(results, ('prompt_boxes', 'prompt_is_point'), 'PackInteractiveInputs')
        packed = super().transform(results)
        boxes = np.asarray(results['prompt_boxes'], dtype=np.float32).reshape(-1, 4)
        prompts = InstanceData(
            boxes=torch.from_numpy(boxes),
            is_point=torch.from_numpy(np.asarray(results['prompt_is_point'], dtype=bool)))
        if 'prompt_points' in results:
            points = np.asarray(results['prompt_points'], dtype=np.float32)
            labels = np.asarray(results['prompt_point_labels'], dtype=np.int64)
            if points.shape[:1] != (len(boxes),) or labels.shape != points.shape[:2]:
                raise ValueError(f'prompt_points {points.shape} / prompt_point_labels '
                                 f'{labels.shape} do not match {len(boxes)} prompts')
            prompts.points = torch.from_numpy(points.reshape(len(boxes), -1, 2))
            prompts.point_labels = torch.from_numpy(labels)
        packed['data_samples'].prompts = prompts
        return packed
