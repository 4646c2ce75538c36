"""Online DAVIS-2017 semi-supervised J&F on `evaluate_sequence`."""
from typing import Optional, Sequence

from mmengine.evaluator import BaseMetric

from seg.registry import METRICS

from ..functional.davis import BOUNDARY_THRESHOLD, GLOBAL_KEYS, davis_summary, evaluate_sequence
from ..functional.formats import to_numpy
from .utils import log_table, sample_field
from .video_samples import davis_fields


@METRICS.register_module()
class DAVISMetric(BaseMetric):
    """J&F-Mean, J/F Mean, Recall and Decay (fractions) of VOS predictions.

    One data sample per sequence, all frames included (the first and last are not scored)::

        {'sequence': str,
         'gt_masks': int (T, H, W),     # 0 background, k object k, 255 void (as background)
         'pred_masks': int (T, H, W)}   # 0 background, k object k

    Objects are the ids of the first GT frame. Per-object scores are computed in `process`.
    """
    default_prefix = 'davis'

    def __init__(self, bound_th: float = BOUNDARY_THRESHOLD, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.bound_th = bound_th

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            sample = davis_fields(sample)  # video model outputs (TrackSegDataSample dicts)
            sequence = sample_field(sample, 'sequence', 'sequence sample')
            where = f'sequence {sequence}'
            scores = evaluate_sequence(to_numpy(sample_field(sample, 'gt_masks', where)),
                                       to_numpy(sample_field(sample, 'pred_masks', where)),
                                       where=where, bound_th=self.bound_th)
            self.results.append({'sequence': sequence, 'objects': scores})

    def compute_metrics(self, results: list) -> dict:
        sequences = [r['sequence'] for r in results]
        if len(set(sequences)) != len(sequences):
            raise ValueError(f'{type(self).__name__}: some sequences were evaluated twice')
        per_object = {f'{r["sequence"]}_{obj}': scores for r in results
                      for obj, scores in r['objects'].items()}
        summary = davis_summary(per_object)['global']
        log_table(f'{self.prefix} (fractions)', GLOBAL_KEYS, [list(summary.values())])
        return dict(summary)
