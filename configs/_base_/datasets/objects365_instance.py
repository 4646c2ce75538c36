# Objects365 v2 instance segmentation (the reference's optional pre-training,
# seg/configs/_base_/datasets/objects365v2_instance_lsj.py; its dataset module
# seg.datasets.objects365 and its training config were never shipped). 365 thing classes from the
# json; large-scale jitter at 1024x1024 (ratio 0.1-2.0), as the reference's non-720p variants. Masks
# come from a pseudo-mask json (`obj365v2_train.gt.json`, as the reference); with the official
# box-only json set `boxes_as_masks=True` on the dataset to train on filled boxes (see
# seg/datasets/objects365.py).
from mmengine.config import read_base

from seg.datasets import Objects365InstanceDataset
from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadInstanceAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize)

with read_base():
    from ._loaders import train_loader

data_root = 'data/objects365/'
image_size = (1024, 1024)
vocabulary = dict(instance_ann_file=data_root + 'annotations/obj365v2_train.gt.json',
                  name='objects365')

train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadInstanceAnnotations),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type=RandomCrop, crop_size=image_size, crop_type='absolute', allow_negative_crop=True),
    dict(type=FilterAnnotations, min_gt_mask_area=1, by_mask=True),
    dict(type=PackSegInputs),
]
train_dataloader = dict(train_loader, dataset=dict(
    type=Objects365InstanceDataset, data_root=data_root,
    ann_file='annotations/obj365v2_train.gt.json', data_prefix=dict(img='train/'),
    dataset_name='objects365', filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline))
del train_loader
