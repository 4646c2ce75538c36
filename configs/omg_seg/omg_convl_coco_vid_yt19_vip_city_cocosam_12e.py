# OMG-Seg ConvNeXt-L, the paper's main training run (the reference's
# `m2ov_train/omg_convl_vlm_fix_12e_ov_coco_vid_yt19_vip_city_cocopansam.py`): the frozen CLIP
# backbone and one decoder co-trained on COCO panoptic as 2-frame pseudo-videos (x1), YouTube-VIS
# 2019 (x30), VIPSeg (x15), Cityscapes panoptic (x15) and COCO interactive clicks (x1,
# class-agnostic), in one merged vocabulary of 136 things and 101 stuff classes. Every batch comes
# from one source, and all GPUs take the same source at each step (SingleSourceBatchSampler).
#
#   python tools/gen_cls.py configs/omg_seg/omg_convl_coco_vid_yt19_vip_city_cocosam_12e.py
#   bash tools/dist.sh train configs/omg_seg/omg_convl_coco_vid_yt19_vip_city_cocosam_12e.py 8
#
# Learning rate: 1e-4 is the rate for 16 images per step (16 GPUs x 1 image). auto_scale_lr is
# on, as in the reference: the runner multiplies the rate by (GPUs x batch_size) / 16, i.e.
# 2e-4 on the paper's 32 A100 GPUs, 5e-5 on one 8-GPU machine. Evaluate with the eval configs
# of this folder (one per dataset).
from mmengine.config import read_base
from mmengine.dataset import DefaultSampler, pseudo_collate

from seg.datasets import JointDataset, SingleSourceBatchSampler
from seg.models.video import VideoSegDataPreprocessor
from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets.cityscapes_panoptic import train_dataloader as cityscapes_train
    from .._base_.datasets.cityscapes_panoptic import vocabulary as cityscapes_vocabulary
    from .._base_.datasets.coco_panoptic_interactive import train_dataloader as coco_prompt_train
    from .._base_.datasets.coco_panoptic_lsj import coco_vocabulary
    from .._base_.datasets.coco_panoptic_video import train_dataloader as coco_video_train
    from .._base_.datasets.vipseg import train_dataloader as vipseg_train
    from .._base_.datasets.vipseg import vocabulary as vipseg_vocabulary
    from .._base_.datasets.youtube_vis_2019 import train_dataloader as yt19_train
    from .._base_.datasets.youtube_vis_2019 import vocabulary as yt19_vocabulary
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

# One entry per training source, in the JointDataset's order; None = class-agnostic.
source_vocabularies = [coco_vocabulary, yt19_vocabulary, vipseg_vocabulary,
                       cityscapes_vocabulary, None]

model.data_preprocessor.type = VideoSegDataPreprocessor
model.vocabulary = dict(merge=source_vocabularies)  # 136 things + 101 stuff
# Reference prompt encoding: a click is a 6x6 box with the "box" type embedding.
model.prompt_encoder = dict(type=PromptEncoder, point_radius=3, point_type_embedding=False,
                            noise_scale=0.4, noise_damping=0.01)

train_dataloader = dict(
    batch_size=1,  # per GPU, as the reference
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    batch_sampler=dict(type=SingleSourceBatchSampler),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(
        type=JointDataset,
        datasets=[coco_video_train.dataset, yt19_train.dataset, vipseg_train.dataset,
                  cityscapes_train.dataset, coco_prompt_train.dataset],
        data_tags=['panoptic', 'video', 'video', 'panoptic', 'interactive'],
        repeats=[1, 30, 15, 15, 1],
        vocabularies=source_vocabularies))

# The reference trains without validation; evaluation uses the eval configs.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

# Steps of different sources use different parameters (prompt encoding only on prompt
# steps): DDP must not wait for gradients of the unused ones.
find_unused_parameters = True

# Stated explicitly (see the header): lr x (GPUs x batch_size) / 16.
auto_scale_lr = dict(enable=True, base_batch_size=16)
