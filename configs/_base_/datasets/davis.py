# DAVIS-2017 semi-supervised VOS (the reference's seg/configs/_base_/datasets/davis.py and
# m2ov_val/eval_m2_convl_300q_ov_davis.py): evaluated at 480p with every frame resized to
# (1280, 736); the first frame's object masks are given (loaded with the annotations) and J&F is
# computed online. The training split (full resolution, 2-frame clips, resize 0.9-1.1) is unused by
# the reference.
from mmengine.config import read_base

from seg.datasets import DAVISDataset
from seg.datasets.transforms import (ClipTransform, LoadImageFromFile, LoadVideoAnnotations,
                                     PackVideoInputs, RandomCrop, RandomFlip, RandomResize,
                                     VideoClipSample)
from seg.evaluation.metrics import DAVISMetric

with read_base():
    from ._loaders import test_loader, train_loader
    from .video_clip_pipelines import clip_test_pipeline, clip_train_pipeline, image_size

data_root = 'data/DAVIS/'

train_pipeline = [
    dict(type=VideoClipSample, num_frames=2, interval=2),
    dict(type=ClipTransform, share_random_params=True, transforms=[
        dict(type=LoadImageFromFile),
        dict(type=LoadVideoAnnotations),
        dict(type=RandomResize, scale=image_size, ratio_range=(0.9, 1.1), keep_ratio=True),
        dict(type=RandomCrop, crop_size=image_size[::-1], crop_type='absolute',
             allow_negative_crop=True),
        dict(type=RandomFlip, prob=0.5)]),
    dict(type=PackVideoInputs),
]
test_pipeline = clip_test_pipeline  # at 480p: the first frame's masks and the GT

_davis = dict(type=DAVISDataset, data_root=data_root)
train_dataloader = dict(train_loader, dataset=dict(
    _davis, ann_file='ImageSets/2017/train.txt', resolution='Full-Resolution',
    filter_cfg=dict(min_frames=3), pipeline=train_pipeline))
val_dataloader = dict(test_loader, batch_size=1, dataset=dict(
    _davis, ann_file='ImageSets/2017/val.txt', resolution='480p', test_mode=True,
    pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type=DAVISMetric)
test_evaluator = val_evaluator
del train_loader, test_loader, _davis
