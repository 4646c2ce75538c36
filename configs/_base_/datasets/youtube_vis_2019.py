# YouTube-VIS 2019 (the reference's seg/configs/_base_/datasets/youtube_vis_2019.py and
# m2ov_val/eval_m2_convl_300q_ov_y19.py): 2-frame clips (interval 2) at 1280x736 with shared resize
# (0.8-2.0) / crop / flip; every frame of a video at test, resized to (1280, 736). The valid split
# has no public GT: results json + submission zip for the server. Convert the official json first:
# tools/dataset_converters/vis_to_coco.py.
from mmengine.config import read_base

from seg.datasets import YouTubeVISDataset
from seg.datasets.transforms import (ClipTransform, LoadImageFromFile, PackVideoInputs, Resize,
                                     VideoClipSample)
from seg.evaluation.metrics import YouTubeVISMetric

with read_base():
    from ._loaders import test_loader, train_loader
    from .video_clip_pipelines import clip_test_pipeline, clip_train_pipeline, image_size

data_root = 'data/youtube_vis_2019/'
dataset_version = '2019'

vocabulary = dict(name='youtube_vis_2019', thing_classes=[
    'person', 'giant_panda', 'lizard', 'parrot', 'skateboard', 'sedan', 'ape', 'dog', 'snake',
    'monkey', 'hand', 'rabbit', 'duck', 'cat', 'cow', 'fish', 'train', 'horse', 'turtle',
    'bear', 'motorbike', 'giraffe', 'leopard', 'fox', 'deer', 'owl', 'surfboard', 'airplane',
    'truck', 'zebra', 'tiger', 'elephant', 'snowboard', 'boat', 'shark', 'mouse', 'frog',
    'eagle', 'earless_seal', 'tennis_racket'])

train_pipeline = clip_train_pipeline
test_pipeline = [
    dict(type=VideoClipSample, num_frames=None),
    dict(type=ClipTransform, transforms=[
        dict(type=LoadImageFromFile),
        dict(type=Resize, scale=image_size, keep_ratio=True)]),
    dict(type=PackVideoInputs),
]

_ytvis = dict(type=YouTubeVISDataset, data_root=data_root,
              dataset_name=f'youtube_vis_{dataset_version}')
train_dataloader = dict(train_loader, dataset=dict(
    _ytvis, ann_file=f'annotations/youtube_vis_{dataset_version}_train.json',
    data_prefix=dict(img='train/JPEGImages/'), filter_cfg=dict(filter_empty_gt=True, min_frames=3),
    pipeline=train_pipeline))
val_dataloader = dict(test_loader, batch_size=1, dataset=dict(
    _ytvis, ann_file=f'annotations/youtube_vis_{dataset_version}_valid.json',
    data_prefix=dict(img='valid/JPEGImages/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type=YouTubeVISMetric, format_only=True,
                     outfile_prefix=f'work_dirs/youtube_vis_{dataset_version}_results')
test_evaluator = val_evaluator
del train_loader, test_loader, _ytvis
