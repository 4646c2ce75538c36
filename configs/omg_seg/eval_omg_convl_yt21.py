# OMG-Seg ConvNeXt-L on YouTube-VIS 2021 valid (reference `eval_m2_convl_300q_ov_y21.py`):
# online MinVIS inference in tubes of 5 frames (3 for videos of at most 15 frames), instance
# output only; writes the results json and the submission zip for the evaluation server.
#   python tools/test.py configs/omg_seg/eval_omg_convl_yt21.py --checkpoint <omg_seg_convl.pth>
from mmengine.config import read_base

from seg.models.video import VideoSegDataPreprocessor

with read_base():
    from .._base_.datasets.youtube_vis_2021 import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

model.data_preprocessor.type = VideoSegDataPreprocessor
model.vocabulary = vocabulary
model.video_cfg = dict(clip_size=5, clip_size_small=3, whole_clip_thr=0, small_clip_thr=15,
                       overlap=0)
model.test_cfg.update(panoptic_on=False, semantic_on=False, instance_on=True)
