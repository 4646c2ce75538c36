# COCO panoptic as pseudo-videos (the reference's `coco_panoptic_video_lsj.py`): each
# image becomes a 2-frame clip; flip and resize (1280x736, ratio 0.8-2.0) are shared by the two
# frames, the 1280x736 crops are drawn independently, so the clip shows a small "motion".
# Training only (test with the image configs).
from mmengine.config import read_base

from seg.datasets import CocoPanopticDataset
from seg.datasets.transforms import (ClipTransform, ImageToClip, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackVideoInputs, RandomCrop,
                                     RandomFlip, RandomResize)

with read_base():
    from ._loaders import coco_train_files, train_loader

data_root = 'data/coco/'
image_size = (1280, 736)  # (w, h)

train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=ImageToClip, num_frames=2),
    dict(type=ClipTransform, share_random_params=True, transforms=[
        dict(type=RandomFlip, prob=0.5),
        dict(type=RandomResize, scale=image_size, ratio_range=(0.8, 2.0), keep_ratio=True)]),
    dict(type=ClipTransform, share_random_params=False, transforms=[
        dict(type=RandomCrop, crop_size=image_size[::-1], crop_type='absolute',
             allow_negative_crop=True)]),
    dict(type=PackVideoInputs),
]
train_dataloader = dict(train_loader, dataset=dict(
    type=CocoPanopticDataset, data_root=data_root, **coco_train_files,
    filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
del train_loader, coco_train_files
