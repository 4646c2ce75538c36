# COCO panoptic (the reference's seg/configs/_base_/datasets/coco_panoptic_lsj.py and
# m2ov_val/datasets/coco.py): large-scale-jitter training at 1024x1024, test at (1333, 800); PQ,
# mask AP and mIoU.
from mmengine.config import read_base

from seg.datasets import CocoPanopticDataset
from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import CocoInstanceMetric, CocoPanopticMetric, SemSegMetric

with read_base():
    from ._loaders import coco_train_files, coco_val_files, test_loader, train_loader

data_root = 'data/coco/'
image_size = (1024, 1024)
# The 133 classes with the reference's synonym lists (e.g. 17 names for person; max over
# synonyms in the classifier), things then stuff in the json's order.
coco_vocabulary = dict(file='ext/class_names/coco_panoptic.json', name='coco')

train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type=RandomCrop, crop_size=image_size, crop_type='absolute', allow_negative_crop=True),
    dict(type=FilterAnnotations, min_gt_mask_area=1, by_mask=True),
    dict(type=PackSegInputs),
]
test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(1333, 800), keep_ratio=True),
    # Annotations are loaded after the resize: metrics compare at the original size.
    dict(type=LoadPanopticAnnotations),
    dict(type=PackSegInputs),
]

_coco = dict(type=CocoPanopticDataset, data_root=data_root)
train_dataloader = dict(train_loader, dataset=dict(
    _coco, **coco_train_files, filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline))
val_dataloader = dict(test_loader, dataset=dict(
    _coco, **coco_val_files, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type=CocoPanopticMetric),
    dict(type=CocoInstanceMetric),
    dict(type=SemSegMetric),
]
test_evaluator = val_evaluator
del train_loader, test_loader, coco_train_files, coco_val_files, _coco
