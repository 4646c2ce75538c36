"""Video semantic segmentation (VSS) mIoU: `SemSegMetric` over every frame of each video."""
from typing import Sequence

import numpy as np

from seg.registry import METRICS

from .sem_seg_metric import SemSegMetric
from .utils import sample_field
from .video_samples import crop_targets_to_prediction


@METRICS.register_module()
class VideoSemSegMetric(SemSegMetric):
    """aAcc, mIoU and mAcc of the per-frame semantic maps of video model outputs.

    Each data sample is a video (``TrackSegDataSample.to_dict()``: frames in
    ``video_data_samples`` with ``pred_sem_seg`` and ``gt_sem_seg``); its frames are scored as
    `SemSegMetric` scores images and summed into one entry per video. Arguments as
    `SemSegMetric`.
    """
    default_prefix = 'vss'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            frames = sample_field(sample, 'video_data_samples',
                                  f'video {sample.get("video_id")}')
            start = len(self.results)
            super().process(data_batch, [crop_targets_to_prediction(frame, self.pred_source)
                                         for frame in frames])
            entries = self.results[start:]
            del self.results[start:]
            self.results.append(tuple(np.sum([entry[i] for entry in entries], axis=0)
                                      for i in range(4)))
