# COCO panoptic (reference sections 2.7 and 3.2): large-scale-jitter training at 1024x1024,
# test at (1333, 800); PQ, mask AP and mIoU.
from mmengine.dataset import DefaultSampler, pseudo_collate

from seg.datasets import CocoPanopticDataset
from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import CocoInstanceMetric, CocoPanopticMetric, SemSegMetric

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

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(
        type=CocoPanopticDataset,
        data_root=data_root,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type=DefaultSampler, shuffle=False),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(
        type=CocoPanopticDataset,
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type=CocoPanopticMetric),
    dict(type=CocoInstanceMetric),
    dict(type=SemSegMetric),
]
test_evaluator = val_evaluator
