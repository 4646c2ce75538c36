"""Online semantic segmentation aAcc / mIoU / mAcc on `intersect_and_union`."""
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from seg.registry import METRICS
from seg.utils.constants import INSTANCE_OFFSET, VOID_LABEL

from ..functional.semantic import intersect_and_union, semantic_from_panoptic, semantic_metrics
from .utils import (categories_from_meta, describe, gt_panoptic, log_table, pixel_map,
                    sample_field)

PRED_SOURCES = ('pred_sem_seg', 'pred_panoptic_seg')


@METRICS.register_module()
class SemSegMetric(BaseMetric):
    """aAcc, mIoU and mAcc (fractions) with mmseg's `IoUMetric` conventions.

    Ground truth: `gt_sem_seg.sem_seg` (1, H, W) when the sample has it (void =
    `ignore_index`), else derived from the panoptic GT (`seg_map_path` + `segments_info` +
    `dataset_meta['category_ids']`) with void pixels ignored, and crowd pixels too unless
    `ignore_crowd=False` (then they keep their class, as mmdet's panoptic loader does).
    Prediction: `pred_sem_seg.sem_seg` (1, H, W) class indices, or with
    `pred_source='pred_panoptic_seg'` the class part (value % label_divisor) of the panoptic
    prediction, whose void label `num_classes` then counts as a miss.

    Result keys: aAcc, mIoU, mAcc (+ `IoU_<class>` when `classwise`).
    """
    default_prefix = 'sem_seg'

    def __init__(self, ignore_index: int = VOID_LABEL, pred_source: str = 'pred_sem_seg',
                 label_divisor: int = INSTANCE_OFFSET, ignore_crowd: bool = True,
                 classwise: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if pred_source not in PRED_SOURCES:
            raise ValueError(f'pred_source must be one of {PRED_SOURCES}, got {pred_source!r}')
        self.ignore_index = ignore_index
        self.pred_source = pred_source
        self.label_divisor = label_divisor
        self.ignore_crowd = ignore_crowd
        self.classwise = classwise

    def _class_names(self) -> list:
        if self.dataset_meta is None or 'classes' not in self.dataset_meta:
            raise ValueError(f"{type(self).__name__}: dataset_meta['classes'] is not set")
        return list(self.dataset_meta['classes'])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        num_classes = len(self._class_names())
        for sample in data_samples:
            where = describe(sample)
            pred = pixel_map(sample, self.pred_source, where)
            if self.pred_source == 'pred_panoptic_seg':
                pred = pred.astype(np.int64) % self.label_divisor
            if 'gt_sem_seg' in sample:
                label = pixel_map(sample, 'gt_sem_seg', where)
            else:
                gt_ids, gt_segments, gt_path = gt_panoptic(sample, where)
                label = semantic_from_panoptic(
                    gt_ids, gt_segments,
                    categories_from_meta(self.dataset_meta, type(self).__name__),
                    self.ignore_index, self.ignore_crowd, where=f'{where}, GT {gt_path}')
            self.results.append(intersect_and_union(pred, label, num_classes,
                                                    self.ignore_index, where=where))

    def compute_metrics(self, results: list) -> dict:
        totals = [np.sum([r[i] for r in results], axis=0) for i in range(4)]
        summary = semantic_metrics(*totals, class_names=self._class_names())
        log_table(f'{self.prefix} (fractions)', ('class', 'IoU', 'Acc'),
                  [(name, v['IoU'], v['Acc']) for name, v in summary['per_class'].items()])
        metrics = {key: summary[key] for key in ('aAcc', 'mIoU', 'mAcc')}
        if self.classwise:
            for name, values in summary['per_class'].items():
                metrics[f'IoU_{name}'] = values['IoU']
        return metrics
