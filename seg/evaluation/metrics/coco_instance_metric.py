"""Online COCO mask AP on `coco_mask_ap` (pycocotools COCOeval, segm)."""
import contextlib
import io
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from pycocotools.coco import COCO

from seg.registry import METRICS
from seg.structures.masks import masks_to_rles

from ..functional.coco_ap import (DEFAULT_MAX_DETS, check_max_dets, coco_mask_ap,
                                  instances_from_panoptic, quiet_coco)
from ..functional.formats import to_numpy
from .utils import categories_from_meta, describe, gt_panoptic, log_table, sample_field

# COCOeval stat names -> mmdet CocoMetric's (`segm_` is prepended).
_MMDET_NAMES = {'AP': 'mAP', 'AP50': 'mAP_50', 'AP75': 'mAP_75', 'APs': 'mAP_s',
                'APm': 'mAP_m', 'APl': 'mAP_l'}


def mmdet_stat_names(max_dets: Sequence[int]) -> dict:
    """Map COCOeval stat keys to mmdet's names (AR@n, AR_s@n ...) for these maxDets."""
    names = dict(_MMDET_NAMES)
    for value in max_dets:
        names[f'AR{value}'] = f'AR@{value}'
    for size in 'sml':
        names[f'AR{size}'] = f'AR_{size}@{max_dets[-1]}'
    return names


@METRICS.register_module()
class CocoInstanceMetric(BaseMetric):
    """COCO mask AP of instance predictions (fractions; -1 where COCO says undefined).

    Each data sample needs `img_id`, `ori_shape` and `pred_instances` (`masks` (n, H, W)
    bool, `labels` (n,) into `dataset_meta['classes']`, `scores` (n,)); labels map to json
    ids through `dataset_meta['category_ids']`.

    Ground truth: the instances json `ann_file` when given; otherwise it is built from each
    sample's panoptic GT (`seg_map_path` + `segments_info`): one instance per thing segment,
    crowd segments kept as `iscrowd` (the COCO instances files are made this way).

    `max_dets` defaults to COCO's (1, 10, 100); mmdet's CocoMetric uses (100, 300, 1000).
    Result keys follow mmdet: segm_mAP, segm_mAP_50, segm_mAP_75, segm_mAP_s / _m / _l,
    segm_AR@<n> for each maxDets, segm_AR_s@<last> / _m / _l (+ `segm_<class>_AP` if
    `classwise`).
    """
    default_prefix = 'coco_instance'

    def __init__(self, ann_file: Optional[str] = None,
                 max_dets: Sequence[int] = DEFAULT_MAX_DETS, classwise: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.max_dets = check_max_dets(max_dets)
        self.classwise = classwise
        self.ann_file = ann_file
        self._gt_coco: Optional[COCO] = None
        if ann_file is not None:
            with contextlib.redirect_stdout(io.StringIO()):
                self._gt_coco = COCO(ann_file)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        categories = categories_from_meta(self.dataset_meta, type(self).__name__)
        things = [c for c, thing in zip(categories.ids, categories.isthing) if thing]
        for sample in data_samples:
            where = describe(sample)
            image_id = sample_field(sample, 'img_id', where)
            height, width = sample_field(sample, 'ori_shape', where)[:2]
            pred = sample_field(sample, 'pred_instances', where)
            masks = to_numpy(sample_field(pred, 'masks', f'{where}.pred_instances')).astype(bool)
            labels = to_numpy(sample_field(pred, 'labels', f'{where}.pred_instances'))
            scores = to_numpy(sample_field(pred, 'scores', f'{where}.pred_instances'))
            if masks.ndim != 3 or masks.shape[1:] != (height, width):
                raise ValueError(f'{where}: predicted masks of size {masks.shape[1:]} for an '
                                 f'image of size {(height, width)}')
            if labels.size and (labels.min() < 0 or labels.max() >= len(categories)):
                raise ValueError(f'{where}: predicted label outside [0, {len(categories)})')
            predictions = [
                {'image_id': image_id, 'category_id': categories.ids[int(label)],
                 'segmentation': rle, 'score': float(score)}
                for rle, label, score in zip(masks_to_rles(masks), labels, scores)]
            gt_annotations = None
            if self._gt_coco is None:
                gt_ids, gt_segments, _ = gt_panoptic(sample, where)
                gt_annotations = instances_from_panoptic(gt_ids, gt_segments, things, image_id)
            self.results.append({'img_id': image_id, 'height': int(height), 'width': int(width),
                                 'predictions': predictions, 'gt_annotations': gt_annotations})

    def _ground_truth(self, results: list) -> COCO:
        if self._gt_coco is not None:
            return self._gt_coco
        categories = categories_from_meta(self.dataset_meta, type(self).__name__)
        annotations = []
        for result in results:
            for annotation in result['gt_annotations']:
                annotations.append({**annotation, 'id': len(annotations) + 1})
        return quiet_coco({
            'images': [{'id': r['img_id'], 'height': r['height'], 'width': r['width']}
                       for r in results],
            'annotations': annotations,
            'categories': [{'id': i, 'name': n} for i, n, thing in
                           zip(categories.ids, categories.names, categories.isthing) if thing]})

    def compute_metrics(self, results: list) -> dict:
        image_ids = [r['img_id'] for r in results]
        if len(set(image_ids)) != len(image_ids):
            raise ValueError(f'{type(self).__name__}: some images were evaluated twice')
        predictions = [p for r in results for p in r['predictions']]
        ground_truth = self._ground_truth(results)
        evaluation = coco_mask_ap(ground_truth, predictions, self.max_dets,
                                  image_ids=image_ids, where=type(self).__name__)
        names = mmdet_stat_names(self.max_dets)
        metrics = {f'segm_{names[key]}': value for key, value in evaluation['stats'].items()}
        log_table(f'{self.prefix} mask AP (fractions)', list(metrics),
                  [[float(np.round(v, 4)) for v in metrics.values()]])
        if self.classwise:
            gt_names = {c['id']: c['name'] for c in ground_truth.dataset['categories']}
            for category_id, values in evaluation['per_category'].items():
                metrics[f'segm_{gt_names[category_id]}_AP'] = values['AP']
        return metrics
