"""Panoptic / instance / semantic results from the exported image model's outputs, in numpy.

A deployment that runs the exported program (onnxruntime, ``torch.export``) needs no torch
for the post-processing: this module imports only numpy (copy it next to your runtime code).
It follows the model's rules exactly (``seg/models/postprocess/panoptic.py``, ``instance.py``,
``semantic.py`` and ``mask_ops.restore_mask_logits``, driven by ``QueryPostprocessor``):

1. the stride-4 mask logits (Q, H/4, W/4) are resized bilinearly (``align_corners=False``) to
   the padded input size (H, W), as ``QueryPredictions.upsampled``;
2. cropped to ``img_shape`` (the image inside the padding, top-left) and, when ``ori_shape``
   differs, resized bilinearly to it (``restore_mask_logits``);
3. fused by the panoptic / instance / semantic rule with the class logits (Q, K+1).

Bilinear resizing reproduces PyTorch's CPU kernel (float32 source coordinates and weights,
edge clamping); the resized logits differ from torch's by float rounding only (a few units in
the last place: the kernel's order of operations is not reproduced). Softmax / sigmoid / sums
are computed in float32 as the model does, so the discrete results (labels, ids, kept
queries) are the same unless a decision sits within rounding of its threshold or tie.
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

# seg.utils.constants.INSTANCE_OFFSET (kept here so this module needs nothing from `seg`):
# a thing pixel of the panoptic map is ``label + instance_id * INSTANCE_OFFSET``.
INSTANCE_OFFSET = 1000

# The defaults of the model's ``test_cfg`` (``PostprocessConfig``).
DEFAULT_TEST_CFG = dict(panoptic_on=True, instance_on=False, semantic_on=False,
                        max_per_image=100, iou_thr=0.8, filter_low_score=False,
                        object_mask_thr=0.8)


def _linear_indices(in_size: int, out_size: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray,
                                                           np.ndarray]:
    """Source indices and weights of 1-D linear resizing ``in_size -> out_size``
    (``align_corners=False``), computed in float32 as PyTorch's CPU kernel does."""
    scale = np.float32(in_size) / np.float32(out_size)
    centres = np.arange(out_size, dtype=np.float32) + np.float32(0.5)
    # PyTorch's compiled kernel evaluates scale * centre - 0.5 as one fused multiply-add (one
    # rounding): the float64 product of two float32 values is exact, so computing it in float64
    # and rounding once to float32 gives the same source coordinates.
    source = (np.float64(scale) * centres.astype(np.float64) - 0.5).astype(np.float32)
    source = np.maximum(source, np.float32(0))
    index0 = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    lambda1 = np.clip(source - index0.astype(np.float32), np.float32(0), np.float32(1))
    index1 = np.minimum(index0 + 1, in_size - 1)
    return index0, index1, (np.float32(1) - lambda1).astype(np.float32), lambda1


def resize_bilinear(maps: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """(N, h, w) float maps -> (N, H, W), bilinear with ``align_corners=False`` (as
    ``F.interpolate(mode='bilinear')``). Same size returns the input unchanged."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f'resize_bilinear expects (N, h, w) maps, got shape {maps.shape}')
    out_height, out_width = int(size[0]), int(size[1])
    if out_height < 1 or out_width < 1:
        raise ValueError(f'resize_bilinear: invalid output size {tuple(size)}')
    if maps.shape[1:] == (out_height, out_width):
        return maps
    y0, y1, wy0, wy1 = _linear_indices(maps.shape[1], out_height)
    x0, x1, wx0, wx1 = _linear_indices(maps.shape[2], out_width)
    # Rows first, then columns: out = wy0 * (wx0 * m[y0, x0] + wx1 * m[y0, x1]) + wy1 * (...)
    rows0, rows1 = maps[:, y0], maps[:, y1]
    top = rows0[:, :, x0] * wx0 + rows0[:, :, x1] * wx1
    bottom = rows1[:, :, x0] * wx0 + rows1[:, :, x1] * wx1
    return (top * wy0[:, None] + bottom * wy1[:, None]).astype(np.float32, copy=False)


def restore_mask_logits(mask_logits: np.ndarray, img_shape: Sequence[int],
                        ori_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """Crop padded mask logits (Q, H_pad, W_pad) to ``img_shape`` and, with ``ori_shape``,
    resize them bilinearly to it (``seg.models.postprocess.mask_ops.restore_mask_logits``)."""
    mask_logits = np.asarray(mask_logits, dtype=np.float32)
    if mask_logits.ndim != 3:
        raise ValueError(f'mask_logits must have shape (Q, H, W), got {mask_logits.shape}')
    img_height, img_width = int(img_shape[0]), int(img_shape[1])
    if img_height > mask_logits.shape[1] or img_width > mask_logits.shape[2]:
        raise ValueError(f'img_shape {tuple(img_shape[:2])} is larger than the mask logits '
                         f'{mask_logits.shape[1:]}; the masks must be at the padded input size')
    cropped = mask_logits[:, :img_height, :img_width]
    if ori_shape is None:
        return cropped
    return resize_bilinear(cropped, (int(ori_shape[0]), int(ori_shape[1])))


def _check_outputs(class_logits: np.ndarray, mask_logits: np.ndarray) -> None:
    if class_logits.ndim != 2 or class_logits.shape[1] < 2:
        raise ValueError(f'class_logits must have shape (Q, K+1) with K >= 1, got '
                         f'{class_logits.shape}')
    if mask_logits.ndim != 3:
        raise ValueError(f'mask_logits must have shape (Q, H, W), got {mask_logits.shape}')
    if class_logits.shape[0] != mask_logits.shape[0]:
        raise ValueError(f'class_logits has {class_logits.shape[0]} queries but mask_logits '
                         f'has {mask_logits.shape[0]}')


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float32, copy=False)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    # The same formula as torch's CPU sigmoid; >= 0.5 is not the same test as logit >= 0
    # (tiny negative logits round to exactly 0.5).
    return (np.float32(1) / (np.float32(1) + np.exp(-logits))).astype(np.float32, copy=False)


def panoptic_postprocess(class_logits: np.ndarray, mask_logits: np.ndarray, num_things: int,
                         object_mask_thr: float = 0.8, iou_thr: float = 0.8,
                         filter_low_score: bool = False) -> np.ndarray:
    """(Q, K+1) class logits and (Q, H, W) mask logits -> (H, W) int32 panoptic map: stuff
    pixel = label, thing pixel = ``label + instance_id * INSTANCE_OFFSET`` (ids 1, 2, ... in
    query order), unassigned pixel = K. The rule of ``seg.models.postprocess.panoptic``."""
    class_logits = np.asarray(class_logits, dtype=np.float32)
    mask_logits = np.asarray(mask_logits, dtype=np.float32)
    _check_outputs(class_logits, mask_logits)
    num_classes = class_logits.shape[1] - 1
    if not 0 <= num_things <= num_classes:
        raise ValueError(f'num_things={num_things} is outside [0, K={num_classes}]')
    panoptic = np.full(mask_logits.shape[1:], num_classes, dtype=np.int32)
    probs = _softmax(class_logits)
    labels = probs.argmax(-1)
    scores = probs.max(-1)
    keep = (labels != num_classes) & (scores > np.float32(object_mask_thr))
    if not keep.any():
        return panoptic
    kept_scores, kept_labels = scores[keep], labels[keep]
    kept_probs = _sigmoid(mask_logits[keep])
    pixel_owner = (kept_scores[:, None, None] * kept_probs).argmax(0)  # first maximum
    owned_area = np.bincount(pixel_owner.ravel(), minlength=kept_labels.size)
    mask_area = (kept_probs >= 0.5).reshape(kept_labels.size, -1).sum(1)
    ratio = owned_area.astype(np.float64) / np.maximum(mask_area, 1).astype(np.float64)
    survives = (owned_area > 0) & (mask_area > 0) & ~(ratio < iou_thr)
    is_thing = kept_labels < num_things
    instance_ids = np.cumsum(survives & is_thing)
    segment_values = np.where(is_thing, kept_labels + instance_ids * INSTANCE_OFFSET,
                              kept_labels).astype(np.int32)
    paint = survives[pixel_owner]
    if filter_low_score:
        owner_prob = np.take_along_axis(kept_probs, pixel_owner[None], 0)[0]
        paint &= owner_prob >= 0.5
    return np.where(paint, segment_values[pixel_owner], panoptic).astype(np.int32)


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool -> (N, 4) float32 tight boxes x1, y1, x2, y2 (exclusive end); an empty
    mask gives zeros (``seg.structures.masks.mask_to_box``)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.shape[0] == 0:
        return np.zeros((0, 4), dtype=np.float32)
    cols = masks.any(axis=1)
    rows = masks.any(axis=2)
    width, height = masks.shape[2], masks.shape[1]
    boxes = np.stack([cols.argmax(1), rows.argmax(1), width - cols[:, ::-1].argmax(1),
                      height - rows[:, ::-1].argmax(1)], axis=1).astype(np.float32)
    return boxes * cols.any(axis=1)[:, None]


def instance_postprocess(class_logits: np.ndarray, mask_logits: np.ndarray, num_things: int,
                         max_per_image: int = 100) -> Dict[str, np.ndarray]:
    """Scored thing instances (``seg.models.postprocess.instance``): the top
    ``max_per_image`` (query, class) pairs by class probability, stuff pairs dropped; mask =
    logit > 0; score = probability x mean sigmoid inside the mask. Returns ``masks`` (n, H, W)
    bool, ``labels`` (n,) int64, ``scores`` (n,) float32, ``bboxes`` (n, 4) float32, by
    descending probability."""
    class_logits = np.asarray(class_logits, dtype=np.float32)
    mask_logits = np.asarray(mask_logits, dtype=np.float32)
    _check_outputs(class_logits, mask_logits)
    if max_per_image < 1:
        raise ValueError(f'max_per_image must be positive, got {max_per_image}')
    num_classes = class_logits.shape[1] - 1
    if not 0 <= num_things <= num_classes:
        raise ValueError(f'num_things={num_things} is outside [0, K={num_classes}]')
    flat = _softmax(class_logits)[:, :-1].ravel()
    count = min(max_per_image, flat.size)
    top = np.argsort(-flat, kind='stable')[:count]
    top_probs, top_labels, top_queries = flat[top], top % num_classes, top // num_classes
    thing = top_labels < num_things
    top_probs, top_labels, top_queries = top_probs[thing], top_labels[thing], top_queries[thing]
    unique_queries, inverse = np.unique(top_queries, return_inverse=True)
    query_logits = mask_logits[unique_queries]
    query_masks = query_logits > 0
    mask_float = query_masks.astype(np.float32)
    mask_scores = ((_sigmoid(query_logits) * mask_float).reshape(len(unique_queries), -1).sum(1)
                   / (mask_float.reshape(len(unique_queries), -1).sum(1) + np.float32(1e-6)))
    return dict(masks=query_masks[inverse], labels=top_labels.astype(np.int64),
                scores=(top_probs * mask_scores[inverse]).astype(np.float32),
                bboxes=masks_to_boxes(query_masks)[inverse])


def semantic_postprocess(class_logits: np.ndarray, mask_logits: np.ndarray) -> np.ndarray:
    """(H, W) int64 class map: argmax over classes of sum_q p(c|q) * sigmoid(mask_q)
    (``seg.models.postprocess.semantic``)."""
    class_logits = np.asarray(class_logits, dtype=np.float32)
    mask_logits = np.asarray(mask_logits, dtype=np.float32)
    _check_outputs(class_logits, mask_logits)
    probs = _softmax(class_logits)[:, :-1]
    class_maps = np.tensordot(probs, _sigmoid(mask_logits), axes=([0], [0]))  # (K, H, W)
    return class_maps.argmax(0).astype(np.int64)


def postprocess(class_logits: np.ndarray, mask_logits: np.ndarray, num_things: int,
                img_shape: Sequence[int], ori_shape: Optional[Sequence[int]] = None,
                test_cfg: Optional[Mapping] = None,
                input_shape: Optional[Sequence[int]] = None) -> Dict[str, object]:
    """The exported model's outputs of one image -> its results, as ``model.predict`` gives.

    Args:
        class_logits: (Q, K+1) output ``class_logits``.
        mask_logits: (Q, H/4, W/4) output ``mask_logits``.
        num_things: things are labels ``[0, num_things)`` (the export's metadata file has it).
        img_shape: (h, w) of the resized image inside the padded input.
        ori_shape: (h, w) to resize the results to (the original image); None = img_shape.
        test_cfg: the model's ``test_cfg`` keys (``panoptic_on``, ``instance_on``,
            ``semantic_on``, ``object_mask_thr``, ``iou_thr``, ``filter_low_score``,
            ``max_per_image``); missing keys take ``DEFAULT_TEST_CFG``.
        input_shape: (H, W) of the padded network input; default 4 x the mask logits' size.

    Returns:
        dict with, as switched on, ``'panoptic'`` ((h, w) int32), ``'instances'`` (see
        :func:`instance_postprocess`) and ``'semantic'`` ((h, w) int64).
    """
    cfg = dict(DEFAULT_TEST_CFG)
    unknown = sorted(set(test_cfg or {}) - set(cfg))
    if unknown:
        raise KeyError(f'unknown test_cfg keys {unknown}; known: {sorted(cfg)}')
    cfg.update(test_cfg or {})
    mask_logits = np.asarray(mask_logits, dtype=np.float32)
    if mask_logits.ndim != 3:
        raise ValueError(f'mask_logits must have shape (Q, H/4, W/4), got {mask_logits.shape}')
    if input_shape is None:
        input_shape = (4 * mask_logits.shape[1], 4 * mask_logits.shape[2])
    masks = restore_mask_logits(resize_bilinear(mask_logits, input_shape), img_shape,
                                ori_shape)
    results: Dict[str, object] = {}
    if cfg['panoptic_on']:
        results['panoptic'] = panoptic_postprocess(
            class_logits, masks, num_things, object_mask_thr=cfg['object_mask_thr'],
            iou_thr=cfg['iou_thr'], filter_low_score=cfg['filter_low_score'])
    if cfg['instance_on']:
        results['instances'] = instance_postprocess(class_logits, masks, num_things,
                                                    max_per_image=cfg['max_per_image'])
    if cfg['semantic_on']:
        results['semantic'] = semantic_postprocess(class_logits, masks)
    return results
