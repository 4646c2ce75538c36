# Cityscapes panoptic (reference sections 2.7, 3, 3.2 and 4) in the COCO-panoptic format that
# tools/dataset_converters/cityscapes_to_panoptic.py writes from gtFine (trainIds: 8 things,
# 11 stuff; the reference's eval config had them swapped). Training: 1280x736 crops after a
# 0.8-1.5 resize, flip; test: resize to fit (2048, 1024), batch 2, PQ.
from mmengine.dataset import DefaultSampler, pseudo_collate

from seg.datasets import CityscapesPanopticDataset
from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import CityscapesPanopticMetric

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


_train_files = dict(
    ann_file='annotations/cityscapes_panoptic_train_trainId.json',
    data_prefix=dict(img='leftImg8bit/train/',
                     seg='annotations/cityscapes_panoptic_train_trainId/'))
_val_files = dict(
    ann_file='annotations/cityscapes_panoptic_val_trainId.json',
    data_prefix=dict(img='leftImg8bit/val/', seg='annotations/cityscapes_panoptic_val_trainId/'))

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(type=CityscapesPanopticDataset, data_root=data_root, **_train_files,
                 dataset_name='cityscapes', filter_cfg=dict(filter_empty_gt=True, min_size=32),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type=DefaultSampler, shuffle=False),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(type=CityscapesPanopticDataset, data_root=data_root, **_val_files,
                 dataset_name='cityscapes', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type=CityscapesPanopticMetric)]
test_evaluator = val_evaluator
del _train_files, _val_files
