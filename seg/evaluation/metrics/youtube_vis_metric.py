"""Online YouTube-VIS video AP on `youtube_vis_ap`."""
import json
from pathlib import Path
from typing import Optional, Sequence

from mmengine.evaluator import BaseMetric

from seg.registry import METRICS

from seg.structures.masks import masks_to_rles
from seg.utils.json_files import read_json
from ..functional.coco_ap import DEFAULT_MAX_DETS, check_max_dets
from ..functional.formats import to_numpy
from ..functional.video_ap import video_gt_coco, youtube_vis_ap
from .coco_instance_metric import mmdet_stat_names
from .utils import log_table, sample_field
from .video_samples import write_youtube_vis_submission


@METRICS.register_module()
class YouTubeVISMetric(BaseMetric):
    """YouTube-VIS AP (fractions) of video instance tracks against the GT json `ann_file`.

    One data sample per video (append order does not matter)::

        {'video_id': int,                      # id in ann_file's `videos`
         'pred_track_instances': {
             'masks': bool (n, T, H, W),       # one mask per frame per track
             'labels': int (n,),               # index into dataset_meta['category_ids']
             'scores': float (n,)}}

    Result keys as `CocoInstanceMetric`: segm_mAP, segm_mAP_50, ..., segm_AR@<n>.
    `outfile_prefix` also writes the tracks as `<prefix>.results.json` (the official results
    format) and `<prefix>.submission_file.zip` holding it as `results.json` (the evaluation
    server's layout); `format_only` skips the evaluation (no `ann_file` needed) and returns
    no metric.
    """
    default_prefix = 'youtube_vis'

    def __init__(self, ann_file: Optional[str] = None,
                 max_dets: Sequence[int] = DEFAULT_MAX_DETS,
                 outfile_prefix: Optional[str] = None, format_only: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if format_only and outfile_prefix is None:
            raise ValueError('format_only needs an outfile_prefix to write the results to')
        if ann_file is None and not format_only:
            raise ValueError('ann_file (the GT json) is required unless format_only=True')
        self.max_dets = check_max_dets(max_dets)
        self.outfile_prefix = outfile_prefix
        self.format_only = format_only
        self._gt_coco = None if ann_file is None else video_gt_coco(read_json(ann_file),
                                                                    str(ann_file))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if self.dataset_meta is None or 'category_ids' not in self.dataset_meta:
            raise ValueError(f"{type(self).__name__}: dataset_meta['category_ids'] is not set")
        category_ids = self.dataset_meta['category_ids']
        for sample in data_samples:
            video_id = sample_field(sample, 'video_id', 'video sample')
            where = f'video {video_id}'
            tracks = sample_field(sample, 'pred_track_instances', where)
            masks = to_numpy(sample_field(tracks, 'masks', where)).astype(bool)
            labels = to_numpy(sample_field(tracks, 'labels', where))
            scores = to_numpy(sample_field(tracks, 'scores', where))
            if masks.ndim != 4:
                raise ValueError(f'{where}: expected (n, T, H, W) track masks, got {masks.shape}')
            predictions = [
                {'video_id': video_id, 'category_id': category_ids[int(label)],
                 'score': float(score), 'segmentations': masks_to_rles(track)}
                for track, label, score in zip(masks, labels, scores)]
            self.results.append({'video_id': video_id, 'predictions': predictions})

    def compute_metrics(self, results: list) -> dict:
        video_ids = [r['video_id'] for r in results]
        if len(set(video_ids)) != len(video_ids):
            raise ValueError(f'{type(self).__name__}: some videos were evaluated twice')
        predictions = [p for r in results for p in r['predictions']]
        if self.outfile_prefix is not None:
            Path(self.outfile_prefix).parent.mkdir(parents=True, exist_ok=True)
            with open(f'{self.outfile_prefix}.results.json', 'w', encoding='utf-8') as handle:
                json.dump(predictions, handle)
            write_youtube_vis_submission(f'{self.outfile_prefix}.results.json',
                                         f'{self.outfile_prefix}.submission_file.zip')
        if self.format_only:
            return {}
        evaluation = youtube_vis_ap(self._gt_coco, predictions, self.max_dets,
                                    video_ids=video_ids, where=type(self).__name__)
        names = mmdet_stat_names(self.max_dets)
        metrics = {f'segm_{names[key]}': value for key, value in evaluation['stats'].items()}
        log_table(f'{self.prefix} video AP (fractions)', list(metrics), [list(metrics.values())])
        return metrics
