# The toy model on video: trained on 2-frame clips of the generated toy videos
# (`python tools/make_toy_data.py --video`, VIPSeg layout: things + stuff), then evaluated on
# the validation videos with one pass of online (MinVIS) inference for every video task:
# VIS AP (YouTube-VIS metric against the YT-VIS-layout json of the same videos), VPQ and STQ
# (VIPSeg metric), VSS mIoU (VideoSemSegMetric) and J&F (DAVIS metric; the first
# frame's objects are given). On CPU: 800 iterations + test took 6.6 min on a busy 2-core
# machine with OMP_NUM_THREADS=1 (several threads fighting over shared cores are much slower):
#   OMP_NUM_THREADS=1 python tools/train.py configs/toy/omg_toy_video.py \
#       --work-dir work_dirs/toy_video
#   python tools/test.py configs/toy/omg_toy_video.py --work-dir work_dirs/toy_video \
#       --checkpoint $(cat work_dirs/toy_video/last_checkpoint)      # -> metrics.json
from mmengine.config import read_base
from mmengine.hooks import CheckpointHook, LoggerHook
from mmengine.optim import LinearLR, MultiStepLR
from mmengine.runner import IterBasedTrainLoop

from seg.datasets import VIPSegDataset
from seg.datasets.transforms import (ClipTransform, LoadImageFromFile, LoadVideoAnnotations,
                                     PackVideoInputs, RandomCrop, RandomFlip, RandomResize,
                                     VideoClipSample)
from seg.evaluation.metrics import (DAVISMetric, VideoSemSegMetric, VIPSegMetric,
                                    YouTubeVISMetric)
from seg.models.video import VideoSegDataPreprocessor

with read_base():
    from .._base_.datasets._loaders import test_loader, train_loader
    from .omg_toy_coco_panoptic import *  # noqa: F401,F403

video_root = 'data/toy_video/'
frame_size = (96, 64)  # (w, h) of the toy frames

model.data_preprocessor.type = VideoSegDataPreprocessor
model.vocabulary = dict(name='toy_video', thing_classes=['ball', 'box', 'tent'],
                        stuff_classes=['sky', 'grass'])
model.video_cfg = dict(clip_size=5, clip_size_small=3, whole_clip_thr=0, small_clip_thr=15,
                       overlap=0, vos_on=True, num_proposals=10)
model.test_cfg.update(panoptic_on=True, instance_on=True, semantic_on=True, max_per_image=30)
model.train_cfg.update(num_points=512)

train_pipeline = [
    dict(type=VideoClipSample, num_frames=2, interval=2),
    dict(type=ClipTransform, share_random_params=True, transforms=[
        dict(type=LoadImageFromFile),
        dict(type=LoadVideoAnnotations),
        dict(type=RandomResize, scale=frame_size, ratio_range=(0.8, 1.25), keep_ratio=True),
        dict(type=RandomCrop, crop_size=frame_size[::-1], crop_type='absolute',
             allow_negative_crop=True),
        dict(type=RandomFlip, prob=0.5)]),
    dict(type=PackVideoInputs),
]
test_pipeline = [
    dict(type=VideoClipSample, num_frames=None),
    dict(type=ClipTransform, transforms=[
        dict(type=LoadImageFromFile),
        dict(type=LoadVideoAnnotations)]),
    dict(type=PackVideoInputs),
]
_videos = dict(type=VIPSegDataset, data_root=video_root + 'vipseg/', dataset_name='toy_video')
train_dataloader = dict(
    train_loader, batch_size=4, num_workers=1, persistent_workers=False,
    dataset=dict(_videos, ann_file='train.txt', filter_cfg=dict(min_frames=3),
                 pipeline=train_pipeline))
test_dataloader = dict(
    test_loader, batch_size=1, num_workers=1, persistent_workers=False,
    dataset=dict(_videos, ann_file='val.txt', test_mode=True, pipeline=test_pipeline))
test_evaluator = [
    dict(type=YouTubeVISMetric, ann_file=video_root + 'ytvis/valid.json'),
    dict(type=VIPSegMetric, windows=(1, 2, 3, 4), metrics=('VPQ', 'STQ')),
    dict(type=DAVISMetric),
    dict(type=VideoSemSegMetric),
]
# Evaluated once, with tools/test.py after training (no validation in between).
val_dataloader = None
val_evaluator = None
val_cfg = None

max_iters = 800
train_cfg = dict(type=IterBasedTrainLoop, max_iters=max_iters)
param_scheduler = [
    dict(type=LinearLR, start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type=MultiStepLR, begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1),
]
default_hooks.update(
    logger=dict(type=LoggerHook, interval=50),
    checkpoint=dict(type=CheckpointHook, by_epoch=False, interval=500, max_keep_ckpts=1))
del video_root, frame_size, _videos, test_loader, train_loader
