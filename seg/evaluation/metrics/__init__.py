"""mmengine `BaseMetric` classes (registered in `seg.registry.METRICS`) over `functional`.

Every metric reports fractions in [0, 1] (-1 where COCO says undefined), as the offline
`tools/evaluate.py` does. Each data sample adds exactly one entry to `self.results`, so
mmengine's `collect_results` gathers every sample once across ranks and drops the padding.
"""
from .coco_instance_metric import CocoInstanceMetric
from .coco_panoptic_metric import CityscapesPanopticMetric, CocoPanopticMetric
from .davis_metric import DAVISMetric
from .interactive_metric import InteractiveMetric
from .sem_seg_metric import SemSegMetric
from .vipseg_metric import VIPSegMetric
from .vss_metric import VideoSemSegMetric
from .youtube_vis_metric import YouTubeVISMetric

__all__ = ['CocoPanopticMetric', 'CityscapesPanopticMetric', 'CocoInstanceMetric',
           'SemSegMetric', 'YouTubeVISMetric', 'VIPSegMetric', 'DAVISMetric',
           'InteractiveMetric', 'VideoSemSegMetric']
