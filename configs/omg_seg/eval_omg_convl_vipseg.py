# OMG-Seg ConvNeXt-L on VIPSeg val (reference `eval_m2_convl_300q_ov_vipseg.py`): online MinVIS
# inference in tubes of 2 frames (3 for videos of at most 15 frames), panoptic output with
# video-stable instance ids (and the semantic maps: VSS); VPQ (1-4 and VPQ6 windows) and STQ.
#   python tools/test.py configs/omg_seg/eval_omg_convl_vipseg.py --checkpoint <ckpt>
from mmengine.config import read_base

from seg.models.video import VideoSegDataPreprocessor

with read_base():
    from .._base_.datasets.vipseg import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

model.data_preprocessor.type = VideoSegDataPreprocessor
model.vocabulary = vocabulary
model.video_cfg = dict(clip_size=2, clip_size_small=3, whole_clip_thr=0, small_clip_thr=15,
                       overlap=0)
model.test_cfg.update(panoptic_on=True, semantic_on=True, instance_on=False)
