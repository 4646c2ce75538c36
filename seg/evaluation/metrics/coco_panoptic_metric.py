"""Online panoptic quality (COCO / Cityscapes / ADE panoptic) on `pq_image_stats`."""
import json
from pathlib import Path
from typing import Optional, Sequence

from mmengine.evaluator import BaseMetric

from seg.registry import METRICS
from seg.structures.panoptic_io import write_panoptic_png
from seg.utils.constants import INSTANCE_OFFSET

from ..functional.panoptic_quality import (PQStat, pq_image_stats, pq_summary,
                                           segments_from_label_map)
from .utils import (categories_from_meta, describe, gt_panoptic, log_table, pixel_map,
                    sample_field)


@METRICS.register_module()
class CocoPanopticMetric(BaseMetric):
    """PQ / SQ / RQ (All, Things, Stuff; fractions) of panoptic predictions.

    Each data sample (a `SegDataSample.to_dict()`) needs `img_id`, `seg_map_path` (GT PNG,
    RGB-encoded ids), `segments_info` (the GT json segments: `id`, `category_id`, `iscrowd`,
    `area`; ids in the optional `ignored_segment_ids` count as void) and
    `pred_panoptic_seg.sem_seg` (1, H, W) = label + instance * 1000 (label =
    index into `dataset_meta['classes']`; `num_classes` = void). `dataset_meta` needs
    `classes`, `category_ids` and `num_things_classes` (or `thing_classes`).

    Per-image statistics are computed in `process`, so only small arrays are gathered across
    ranks. With `outfile_prefix`, predictions are also written in the official format:
    PNGs in `<prefix>.panoptic/` and `<prefix>.panoptic.json` (ids = label map value + 1).

    Result keys: PQ, SQ, RQ, PQ_th, SQ_th, RQ_th, PQ_st, SQ_st, RQ_st (+ `PQ_<class>` when
    `classwise`).
    """
    default_prefix = 'coco_panoptic'

    def __init__(self, outfile_prefix: Optional[str] = None, classwise: bool = False,
                 label_divisor: int = INSTANCE_OFFSET, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.outfile_prefix = outfile_prefix
        self.classwise = classwise
        self.label_divisor = label_divisor

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        categories = categories_from_meta(self.dataset_meta, type(self).__name__)
        for sample in data_samples:
            where = describe(sample)
            gt_ids, gt_segments, gt_path = gt_panoptic(sample, where)
            pred_ids, pred_segments = segments_from_label_map(
                pixel_map(sample, 'pred_panoptic_seg', where), len(categories), categories.ids,
                self.label_divisor)
            stat = pq_image_stats(gt_ids, gt_segments, pred_ids, pred_segments, categories,
                                  where=f'{where}, GT {gt_path}')
            result = {'img_id': sample_field(sample, 'img_id', where), 'stat': stat}
            if self.outfile_prefix is not None:
                file_name = Path(gt_path).name
                write_panoptic_png(Path(f'{self.outfile_prefix}.panoptic') / file_name, pred_ids)
                result['annotation'] = {'image_id': result['img_id'], 'file_name': file_name,
                                        'segments_info': pred_segments}
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict:
        categories = categories_from_meta(self.dataset_meta, type(self).__name__)
        image_ids = [r['img_id'] for r in results]
        if len(set(image_ids)) != len(image_ids):
            raise ValueError(f'{type(self).__name__}: some images were evaluated twice')
        total = PQStat.zeros(len(categories))
        for result in results:
            total += result['stat']
        summary = pq_summary(total, categories)
        if self.outfile_prefix is not None:
            self._write_json(results, categories)
        log_table(f'{self.prefix} (fractions)', ('', 'PQ', 'SQ', 'RQ', 'categories'),
                  [(name, summary[name]['pq'], summary[name]['sq'], summary[name]['rq'],
                    summary[name]['n']) for name in ('All', 'Things', 'Stuff')])
        metrics = {}
        for name, suffix in (('All', ''), ('Things', '_th'), ('Stuff', '_st')):
            for key in ('pq', 'sq', 'rq'):
                metrics[f'{key.upper()}{suffix}'] = summary[name][key]
        if self.classwise:
            for entry in summary['per_class'].values():
                metrics[f'PQ_{entry["name"]}'] = entry['pq']
        return metrics

    def _write_json(self, results: list, categories) -> None:
        dataset = {
            'annotations': [r['annotation'] for r in results],
            'categories': [{'id': i, 'name': n, 'isthing': int(t)} for i, n, t in
                           zip(categories.ids, categories.names, categories.isthing)]}
        with open(f'{self.outfile_prefix}.panoptic.json', 'w', encoding='utf-8') as handle:
            json.dump(dataset, handle)


@METRICS.register_module()
class CityscapesPanopticMetric(CocoPanopticMetric):
    """`CocoPanopticMetric` for Cityscapes (same math, `cityscapes_panoptic/` key prefix)."""
    default_prefix = 'cityscapes_panoptic'
