"""Loading steps: the image file and the COCO panoptic annotation PNG."""
from typing import Optional

import numpy as np

from seg.registry import TRANSFORMS
from seg.structures.panoptic_io import read_panoptic_png
from seg.utils.constants import VOID_LABEL
from seg.utils.image_files import read_image_file
from .base import BaseTransform


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read ``results['img_path']`` as an (H, W, 3) BGR image (OpenCV's channel order, as mmcv).

    Adds ``img``, ``img_shape`` and ``ori_shape`` ((h, w) tuples). A missing file raises
    ``FileNotFoundError``, an empty or undecodable one ``ValueError``; both name the path. So
    does a size that differs from the ``height`` / ``width`` of the results (the json's).
    """

    def __init__(self, to_float32: bool = False) -> None:
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        if 'img_path' not in results:
            raise KeyError(f'LoadImageFromFile needs "img_path" in the results, got keys '
                           f'{sorted(results)}')
        img = read_image_file(results['img_path'])
        annotated = (results.get('height'), results.get('width'))
        if None not in annotated and tuple(img.shape[:2]) != annotated:
            raise ValueError(f'image {results["img_path"]} has size {tuple(img.shape[:2])} but '
                             f'its annotation says (height, width) = {annotated}')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadPanopticAnnotations(BaseTransform):
    """Turn the COCO panoptic PNG of ``results['seg_map_path']`` into training targets.

    Uses ``results['segments_info']`` (each segment with ``id``, ``label``, ``is_thing`` and
    ``iscrowd``, as ``CocoPanopticDataset`` writes it) and optionally
    ``results['ignored_segment_ids']`` (segments of classes left out of the dataset's classes).

    Adds (each only when asked for):
        gt_masks: (N, H, W) uint8 masks of the non-crowd thing segments, in json order.
        gt_labels: (N,) int64 contiguous labels of those masks.
        gt_seg_map: (H, W) int64 contiguous class of every labelled pixel (things and stuff);
            ``VOID_LABEL`` for unlabelled pixels, crowd segments and ignored classes.

    A PNG id that is neither 0 (void), a listed segment nor an ignored one raises ``ValueError``
    naming the PNG and the id; so does a PNG whose size differs from the image's ``ori_shape``.
    Placed after ``Resize`` (test pipelines) the targets stay at the original resolution.
    """

    def __init__(self, with_mask: bool = True, with_seg: bool = True) -> None:
        if not (with_mask or with_seg):
            raise ValueError('LoadPanopticAnnotations needs with_mask or with_seg')
        self.with_mask = with_mask
        self.with_seg = with_seg

    def transform(self, results: dict) -> dict:
        for key in ('seg_map_path', 'segments_info'):
            if key not in results:
                raise KeyError(f'LoadPanopticAnnotations needs "{key}" in the results, got keys '
                               f'{sorted(results)}')
        png_path = results['seg_map_path']
        id_map = read_panoptic_png(png_path)
        self._check_shape(id_map, results)
        segments = results['segments_info']
        self._check_ids(id_map, segments, results.get('ignored_segment_ids', ()), png_path)

        height, width = id_map.shape
        masks, labels = [], []
        seg_map = np.full((height, width), VOID_LABEL, dtype=np.int64)
        for segment in segments:
            mask = id_map == segment['id']
            if segment.get('iscrowd', 0):
                continue  # crowd pixels stay void and are no instance
            seg_map[mask] = segment['label']
            if segment['is_thing']:
                masks.append(mask)
                labels.append(segment['label'])
        if self.with_mask:
            results['gt_masks'] = (np.stack(masks).astype(np.uint8) if masks
                                   else np.zeros((0, height, width), dtype=np.uint8))
            results['gt_labels'] = np.asarray(labels, dtype=np.int64)
        if self.with_seg:
            results['gt_seg_map'] = seg_map
        return results

    @staticmethod
    def _check_shape(id_map: np.ndarray, results: dict) -> None:
        # Compared with the size the image had when loaded: running after Resize (gt kept at
        # the original resolution for evaluation, as mmdet's test pipelines do) is legitimate.
        ori_shape: Optional[tuple] = results.get('ori_shape')
        if ori_shape is not None and tuple(id_map.shape) != tuple(ori_shape):
            raise ValueError(f'panoptic PNG {results["seg_map_path"]} has size {id_map.shape} '
                             f'but image {results.get("img_path")} has size {tuple(ori_shape)}')

    @staticmethod
    def _check_ids(id_map: np.ndarray, segments: list, ignored_ids, png_path) -> None:
        known = {segment['id'] for segment in segments} | set(ignored_ids) | {0}
        unknown = sorted(set(np.unique(id_map).tolist()) - known)
        if unknown:
            raise ValueError(f'panoptic PNG {png_path} contains segment id(s) {unknown[:10]} '
                             'absent from its segments_info in the annotation json')


@TRANSFORMS.register_module()
class FilterAnnotations(BaseTransform):
    """Drop thing instances whose mask has fewer than ``min_gt_mask_area`` pixels.

    Args:
        min_gt_mask_area: smallest mask area kept.
        by_mask: filter by mask area (the only criterion: this pipeline carries no boxes).
        keep_empty: when False, a sample left without instances returns ``None`` (redrawn).
    """

    def __init__(self, min_gt_mask_area: int = 1, by_mask: bool = True,
                 keep_empty: bool = True) -> None:
        if not by_mask:
            raise ValueError('FilterAnnotations filters by mask area only (no boxes are '
                             'loaded); set by_mask=True')
        self.min_gt_mask_area = min_gt_mask_area
        self.by_mask = by_mask
        self.keep_empty = keep_empty

    def transform(self, results: dict) -> Optional[dict]:
        if 'gt_masks' not in results:
            raise KeyError('FilterAnnotations needs "gt_masks": place it after '
                           'LoadPanopticAnnotations(with_mask=True)')
        masks = results['gt_masks']
        keep = masks.sum(axis=(1, 2), dtype=np.int64) >= self.min_gt_mask_area
        if not keep.any() and not self.keep_empty:
            return None
        results['gt_masks'] = masks[keep]
        results['gt_labels'] = results['gt_labels'][keep]
        return results
