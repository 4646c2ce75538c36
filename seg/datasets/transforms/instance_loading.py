"""Loading step for COCO-instance data: polygons / RLE -> the targets of the panoptic loader."""
from collections.abc import Mapping
from typing import List, Union

import numpy as np
from pycocotools import mask as mask_utils

from seg.registry import TRANSFORMS
from seg.utils.constants import VOID_LABEL
from .base import BaseTransform

Segmentation = Union[List[List[float]], dict]


def decode_segmentation(segmentation: Segmentation, height: int, width: int,
                        where: str = 'segmentation') -> np.ndarray:
    """(H, W) uint8 mask of a COCO segmentation: a list of polygons ``[x0, y0, x1, y1, ...]``
    or an RLE dict (``size`` = [H, W], ``counts`` a list (uncompressed) or a string).

    Malformed input raises ``ValueError`` naming ``where``.
    """
    if isinstance(segmentation, list):
        if not segmentation:
            raise ValueError(f'{where}: empty polygon list')
        for index, polygon in enumerate(segmentation):
            # pycocotools would read a 4-number "polygon" as a box: insist on >= 3 points.
            if (not isinstance(polygon, (list, tuple)) or len(polygon) < 6
                    or len(polygon) % 2 or not all(isinstance(v, (int, float))
                                                   for v in polygon)):
                raise ValueError(f'{where}: polygon {index} must be a flat list of at least 6 '
                                 f'numbers (x, y pairs), got {str(polygon)[:80]}')
        rle = mask_utils.merge(mask_utils.frPyObjects(
            [[float(v) for v in polygon] for polygon in segmentation], height, width))
    elif isinstance(segmentation, Mapping):
        size = segmentation.get('size')
        counts = segmentation.get('counts')
        if size is None or counts is None:
            raise ValueError(f'{where}: an RLE needs "size" and "counts", got keys '
                             f'{sorted(segmentation)}')
        if [int(v) for v in size] != [height, width]:
            raise ValueError(f'{where}: RLE size {list(size)} differs from the image size '
                             f'[{height}, {width}]')
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects(dict(size=list(size), counts=counts), height, width)
        elif isinstance(counts, (str, bytes)):
            rle = dict(size=list(size),
                       counts=counts.encode('ascii') if isinstance(counts, str) else counts)
        else:
            raise ValueError(f'{where}: RLE counts must be a list or a string, got '
                             f'{type(counts).__name__}')
    else:
        raise ValueError(f'{where}: expected a list of polygons or an RLE dict, got '
                         f'{type(segmentation).__name__}')
    mask = mask_utils.decode(rle)
    if mask.shape != (height, width):
        raise ValueError(f'{where}: decoded mask has shape {mask.shape}, expected '
                         f'({height}, {width})')
    return np.ascontiguousarray(mask, dtype=np.uint8)


@TRANSFORMS.register_module()
class LoadInstanceAnnotations(BaseTransform):
    """Decode ``results['instances']`` (as ``CocoInstanceDataset`` writes them) into the keys
    ``LoadPanopticAnnotations`` produces, so the rest of the pipeline is shared.

    Adds (each only when asked for):
        gt_masks: (N, H, W) uint8 masks of the non-crowd instances, in json order.
        gt_labels: (N,) int64 contiguous labels of those masks.
        gt_seg_map: (H, W) int64, all ``VOID_LABEL``: instance data has no stuff supervision,
            so the model's panoptic targets are the thing masks alone.

    Crowd annotations are no instances (and are not decoded). An instance without
    ``segmentation`` raises ``ValueError`` naming the image and the annotation id (the
    dataset's ``boxes_as_masks=True`` turns boxes into masks when it is wanted). The image
    size comes from ``height`` / ``width`` and must match ``ori_shape`` when that is set.
    """

    def __init__(self, with_mask: bool = True, with_seg: bool = True) -> None:
        if not (with_mask or with_seg):
            raise ValueError('LoadInstanceAnnotations needs with_mask or with_seg')
        self.with_mask = with_mask
        self.with_seg = with_seg

    def transform(self, results: dict) -> dict:
        for key in ('instances', 'height', 'width'):
            if key not in results:
                raise KeyError(f'LoadInstanceAnnotations needs "{key}" in the results, got keys '
                               f'{sorted(results)}')
        height, width = int(results['height']), int(results['width'])
        ori_shape = results.get('ori_shape')
        image = results.get('img_path')
        if ori_shape is not None and tuple(ori_shape) != (height, width):
            raise ValueError(f'image {image} has size {tuple(ori_shape)} but its annotation says '
                             f'(height, width) = ({height}, {width})')
        masks, labels = [], []
        if self.with_mask:
            for instance in results['instances']:
                if instance.get('iscrowd', 0):
                    continue
                where = f'image {image}, annotation id {instance.get("id")}'
                if not instance.get('segmentation'):
                    raise ValueError(f'{where} has no segmentation (box-only annotation): build '
                                     'the dataset with boxes_as_masks=True to use its box')
                masks.append(decode_segmentation(instance['segmentation'], height, width, where))
                labels.append(instance['label'])
            results['gt_masks'] = (np.stack(masks) if masks
                                   else np.zeros((0, height, width), dtype=np.uint8))
            results['gt_labels'] = np.asarray(labels, dtype=np.int64)
        if self.with_seg:
            results['gt_seg_map'] = np.full((height, width), VOID_LABEL, dtype=np.int64)
        return results
