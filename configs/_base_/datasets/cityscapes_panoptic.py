# Cityscapes panoptic (the reference's seg/configs/_base_/datasets/cityscapes_panoptic_720p.py and
# m2ov_val/eval_m2_convl_300q_ov_cityscapes.py) in the COCO-panoptic format that
# tools/dataset_converters/cityscapes_to_panoptic.py writes from gtFine (trainIds: 8 things, 11
# stuff; the reference's eval config had them swapped). Training: 1280x736 crops after a 0.8-1.5
# resize, flip; test: resize to fit (2048, 1024), batch 2, PQ.
from mmengine.config import read_base

from seg.datasets import CityscapesPanopticDataset
from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import CityscapesPanopticMetric

with read_base():
    from ._loaders import test_loader, train_loader

data_root = 'data/cityscapes/'
image_size = (1280, 736)  # (w, h)
vocabulary = dict(
    name='cityscapes',
    thing_classes=['person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle'],
    stuff_classes=['road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                   'traffic sign', 'vegetation', 'terrain', 'sky'])

train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=image_size, ratio_range=(0.8, 1.5), keep_ratio=True),
    dict(type=RandomCrop, crop_size=image_size[::-1], crop_type='absolute',
         allow_negative_crop=True),
    dict(type=FilterAnnotations, min_gt_mask_area=1, by_mask=True),
    dict(type=PackSegInputs),
]
test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(2048, 1024), keep_ratio=True),
    dict(type=LoadPanopticAnnotations),  # after the resize: PQ at the original size
    dict(type=PackSegInputs),
]

_cityscapes = dict(type=CityscapesPanopticDataset, data_root=data_root, dataset_name='cityscapes')
train_dataloader = dict(train_loader, dataset=dict(
    _cityscapes, ann_file='annotations/cityscapes_panoptic_train_trainId.json',
    data_prefix=dict(img='leftImg8bit/train/',
                     seg='annotations/cityscapes_panoptic_train_trainId/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
val_dataloader = dict(test_loader, dataset=dict(
    _cityscapes, ann_file='annotations/cityscapes_panoptic_val_trainId.json',
    data_prefix=dict(img='leftImg8bit/val/', seg='annotations/cityscapes_panoptic_val_trainId/'),
    test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type=CityscapesPanopticMetric)]
test_evaluator = val_evaluator
del train_loader, test_loader, _cityscapes
