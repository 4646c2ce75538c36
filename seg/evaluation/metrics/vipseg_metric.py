"""Online video panoptic metrics (VPQ over windows, STQ / AQ / IoU) on `VideoSegmentCounts`."""
from typing import Optional, Sequence

from mmengine.evaluator import BaseMetric

from seg.registry import METRICS

from ..functional.formats import to_numpy
from ..functional.panoptic_quality import PQStat
from ..functional.video_panoptic import (VIPSEG_WINDOWS, VideoSegmentCounts, check_windows,
                                         stq_for_categories, vpq_summary)
from .utils import categories_from_meta, log_table, sample_field
from .video_samples import vipseg_fields

VIDEO_PANOPTIC_METRICS = ('VPQ', 'STQ')


@METRICS.register_module()
class VIPSegMetric(BaseMetric):
    """VPQ (VIPSeg windows) and STQ of video panoptic predictions (fractions).

    One data sample per video, in the official VIPSeg format as arrays::

        {'video_id': str,
         'gt_panoptic': int (T, H, W),         # GT segment ids, 0 = void
         'gt_segments_info': [[{'id', 'category_id', 'iscrowd', 'area'}, ...] per frame],
         'pred_panoptic': int (T, H, W),       # predicted segment ids, 0 = void; an id is
         'pred_segments_info': [[{'id', 'category_id'}, ...] per frame]}  # one track

    Video model outputs (`TrackSegDataSample` dicts) are converted by
    `video_samples.vipseg_fields`. `category_id`s are json ids listed in
    `dataset_meta['category_ids']` (things first as
    `num_things_classes` says). Each video's statistics are computed in `process`.

    Result keys: VPQ, VPQ_th, VPQ_st (means over `windows`), VPQ@<n> per window; STQ, AQ,
    IoU. `stq_num_classes` is the semantic class count of STQ (default: max category id + 1).
    """
    default_prefix = 'vipseg'

    def __init__(self, windows: Sequence[int] = VIPSEG_WINDOWS,
                 metrics: Sequence[str] = VIDEO_PANOPTIC_METRICS,
                 stq_num_classes: Optional[int] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        unknown = set(metrics) - set(VIDEO_PANOPTIC_METRICS)
        if unknown or not metrics:
            raise ValueError(f'metrics must be a non-empty subset of {VIDEO_PANOPTIC_METRICS}, '
                             f'got {metrics}')
        self.windows = check_windows(windows)
        self.metrics = tuple(metrics)
        self.stq_num_classes = stq_num_classes

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        categories = categories_from_meta(self.dataset_meta, type(self).__name__)
        for sample in data_samples:
            sample = vipseg_fields(sample, self.dataset_meta)  # video model outputs
            video_id = sample_field(sample, 'video_id', 'video sample')
            where = f'video {video_id}'
            gt = to_numpy(sample_field(sample, 'gt_panoptic', where))
            pred = to_numpy(sample_field(sample, 'pred_panoptic', where))
            if gt.ndim != 3 or pred.ndim != 3:
                raise ValueError(f'{where}: expected (T, H, W) id maps, got {gt.shape} and '
                                 f'{pred.shape}')
            video = VideoSegmentCounts(sample_field(sample, 'gt_segments_info', where),
                                       sample_field(sample, 'pred_segments_info', where),
                                       zip(gt, pred), categories, where=where)
            result = {'video_id': video_id}
            if 'VPQ' in self.metrics:
                result['windows'] = {w: video.window_stats(w) for w in self.windows}
            if 'STQ' in self.metrics:
                stq = stq_for_categories(categories, self.stq_num_classes)
                video.update_stq(stq, video_id)
                result['stq'] = stq
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict:
        categories = categories_from_meta(self.dataset_meta, type(self).__name__)
        video_ids = [r['video_id'] for r in results]
        if len(set(video_ids)) != len(video_ids):
            raise ValueError(f'{type(self).__name__}: some videos were evaluated twice')
        metrics = {}
        if 'VPQ' in self.metrics:
            stats = {w: PQStat.zeros(len(categories)) for w in self.windows}
            counts = dict.fromkeys(self.windows, 0)
            for result in results:
                for window, (stat, count) in result['windows'].items():
                    stats[window] += stat
                    counts[window] += count
            summary = vpq_summary(stats, counts, categories)
            metrics.update(VPQ=summary['VPQ']['All'], VPQ_th=summary['VPQ']['Things'],
                           VPQ_st=summary['VPQ']['Stuff'])
            for window, values in summary['per_nframes'].items():
                metrics[f'VPQ@{window}'] = values['All']['pq']
        if 'STQ' in self.metrics:
            stq = stq_for_categories(categories, self.stq_num_classes)
            for result in results:
                stq.merge(result['stq'])
            metrics.update({key: value for key, value in stq.result().items()
                            if key in ('STQ', 'AQ', 'IoU')})
        log_table(f'{self.prefix} (fractions)', list(metrics), [list(metrics.values())])
        return metrics
