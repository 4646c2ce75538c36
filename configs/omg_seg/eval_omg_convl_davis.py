# OMG-Seg ConvNeXt-L on DAVIS-2017 val (reference `eval_m2_convl_300q_ov_davis.py`): online
# MinVIS inference in tubes of 5 frames (3 for videos of at most 15 frames); the 25 queries of
# highest objectness are matched to the first frame's objects and propagated; J&F.
# The class vocabulary only matters for the (unused) class outputs: COCO's, as the reference.
#   python tools/test.py configs/omg_seg/eval_omg_convl_davis.py --checkpoint <ckpt>
from mmengine.config import read_base

from seg.models.video import VideoSegDataPreprocessor

with read_base():
    from .._base_.datasets.coco_panoptic_lsj import coco_vocabulary
    from .._base_.datasets.davis import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

model.data_preprocessor.type = VideoSegDataPreprocessor
model.vocabulary = coco_vocabulary
model.video_cfg = dict(clip_size=5, clip_size_small=3, whole_clip_thr=0, small_clip_thr=15,
                       overlap=0, vos_on=True, num_proposals=25)
model.test_cfg.update(panoptic_on=False, semantic_on=False, instance_on=False)

# Evaluation only (DAVIS's own training data is class-agnostic, the vocabulary is COCO's).
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
