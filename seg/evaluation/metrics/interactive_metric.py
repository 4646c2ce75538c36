"""Interactive segmentation metric: 1-click mIoU (the reference's) and NoC / mIoU@k."""
from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from seg.registry import METRICS

from ..click_protocol import ClickProtocol
from ..functional.formats import to_numpy
from ..functional.interactive import interactive_summary, mask_iou
from .utils import describe, log_table, sample_field


@METRICS.register_module()
class InteractiveMetric(BaseMetric):
    """Aggregates the per-object IoUs of prompted predictions.

    With ``max_clicks`` = 1 each data sample needs ``pred_prompts.masks`` (M, H, W), compared
    with ``gt_instances.masks`` (one prompt per GT segment, the reference's ``InsClsIoUMetric``
    with one centre click). With ``max_clicks`` > 1 the test loop (``SegTestLoop``,
    ``MultiTaskTestLoop``) runs the multi-click protocol (``seg.evaluation.click_protocol``)
    for this metric and writes ``pred_prompts.click_ious`` (M, max_clicks). Every object of
    every image counts once (mean over objects, not images).

    Args:
        max_clicks / stop_iou: the click protocol (:class:`ClickProtocol`).
        noc_thresholds: IoU thresholds of NoC / NoF (reported as ``NoC@85`` ...).
        miou_clicks: click counts k of the reported ``mIoU@k``.

    Result keys: ``mIoU@1`` (= the reference's 1-click mIoU), ``NoC@85``, ``NoC@90``,
    ``NoF@85``, ``NoF@90``, ``mIoU@k``, ``num_objects``; when the GT objects carry labels and
    the dataset says how many classes are things (``num_things_classes``), the same keys again
    for the thing objects alone (``things_mIoU@1`` ...) and the stuff objects alone
    (``stuff_...``): clicks on amorphous stuff and on compact things behave differently.
    """
    default_prefix = 'interactive'

    def __init__(self, max_clicks: int = 1, stop_iou: float = 0.9,
                 noc_thresholds: Sequence[float] = (0.85, 0.9),
                 miou_clicks: Sequence[int] = (1, 3, 5, 10, 20), collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.noc_thresholds = tuple(float(t) for t in noc_thresholds)
        self.miou_clicks = tuple(int(k) for k in miou_clicks)
        self.click_protocol = ClickProtocol(int(max_clicks), float(stop_iou))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            where = describe(sample)
            pred = sample_field(sample, 'pred_prompts', where)
            if 'click_ious' in pred:
                ious = np.asarray(to_numpy(pred['click_ious']), dtype=np.float64)
            elif self.click_protocol.needs_model:
                raise ValueError(
                    f'{where}: InteractiveMetric(max_clicks={self.click_protocol.max_clicks}) '
                    'needs pred_prompts.click_ious from the click protocol: test with '
                    'SegTestLoop or MultiTaskTestLoop (test_cfg = dict(type=SegTestLoop))')
            else:
                masks = to_numpy(sample_field(pred, 'masks', f'{where}.pred_prompts'))
                gt = to_numpy(sample_field(sample_field(sample, 'gt_instances', where),
                                           'masks', f'{where}.gt_instances'))
                if masks.shape != gt.shape:
                    raise ValueError(f'{where}: {masks.shape} predicted masks vs {gt.shape} GT '
                                     'masks; one prompt per GT segment is expected')
                ious = np.array([[mask_iou(p, g)] for p, g in zip(masks, gt)]).reshape(-1, 1)
            gt = sample.get('gt_instances') or {}
            labels = (np.asarray(to_numpy(gt['labels'])).reshape(-1) if 'labels' in gt
                      else None)
            if labels is not None and len(labels) != len(ious):
                labels = None  # prompts are not one per GT object: no split
            self.results.append(dict(img_id=sample.get('img_id'), ious=ious, labels=labels))

    def compute_metrics(self, results: list) -> dict:
        widths = {r['ious'].shape[1] for r in results if len(r['ious'])}
        if len(widths) > 1:
            raise ValueError(f'{type(self).__name__}: images were evaluated with different '
                             f'click counts {sorted(widths)}')
        per_image = [r['ious'] for r in results if len(r['ious'])]
        if not per_image:
            raise ValueError(f'{type(self).__name__}: no prompted object was evaluated')
        ious = np.concatenate(per_image, axis=0)
        summary = interactive_summary(ious, self.noc_thresholds, self.miou_clicks)
        summary.update(self._thing_stuff_split(results))
        log_table(f'{self.prefix} ({summary["num_objects"]} objects)', ('metric', 'value'),
                  [(key, float(value)) for key, value in summary.items()])
        return summary

    def _thing_stuff_split(self, results: list) -> dict:
        num_things = (self.dataset_meta or {}).get('num_things_classes')
        kept = [r for r in results if len(r['ious'])]
        if num_things is None or any(r.get('labels') is None for r in kept):
            return {}
        ious = np.concatenate([r['ious'] for r in kept], axis=0)
        is_thing = np.concatenate([r['labels'] for r in kept]) < int(num_things)
        split = {}
        for name, rows in (('things', is_thing), ('stuff', ~is_thing)):
            if rows.any():
                part = interactive_summary(ious[rows], self.noc_thresholds, self.miou_clicks)
                split.update({f'{name}_{key}': value for key, value in part.items()})
        return split
