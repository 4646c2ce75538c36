# COCO panoptic as interactive (SAM-like) data (the reference's CocoPanopticSAMDataset,
# seg/configs/_base_/datasets/coco_panoptic_lsj_sam_720p.py): every segment, stuff included, is a
# promptable instance. Training: flip, resize (1280, 736) with ratio 0.1-2.0, crop 1280x736, masks
# of at least 32 pixels, 20 prompts per image (a random pixel of a mask becomes a click: a 6x6 box).
# Test: resize to fit (1333, 800), every segment prompted by the interior point farthest from its
# boundary, batch 1; mean IoU of the one-click masks (the reference's protocol;
# InteractiveMetric(max_clicks=20) adds the NoC / mIoU@k click curve, run by SegTestLoop).
from mmengine.config import read_base

from seg.datasets import CocoPanopticInteractiveDataset
from seg.datasets.transforms import (AddStuffInstances, FilterAnnotations, GenerateEvalClicks,
                                     GeneratePrompts, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackInteractiveInputs,
                                     RandomCrop, RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import InteractiveMetric

with read_base():
    from ._loaders import coco_train_files, coco_val_files, test_loader, train_loader

data_root = 'data/coco/'
image_size = (1280, 736)  # (w, h)

train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=AddStuffInstances),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type=RandomCrop, crop_size=image_size[::-1], crop_type='absolute',
         allow_negative_crop=False),
    dict(type=FilterAnnotations, min_gt_mask_area=32, by_mask=True, keep_empty=False),
    dict(type=GeneratePrompts, num_prompts=20, mode='point'),
    dict(type=PackInteractiveInputs),
]
test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(1333, 800), keep_ratio=True),
    dict(type=LoadPanopticAnnotations),
    dict(type=AddStuffInstances),
    dict(type=GenerateEvalClicks),
    dict(type=PackInteractiveInputs),
]

_coco = dict(type=CocoPanopticInteractiveDataset, data_root=data_root)
train_dataloader = dict(train_loader, batch_size=1, dataset=dict(
    _coco, **coco_train_files, filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline))
val_dataloader = dict(test_loader, batch_size=1, dataset=dict(
    _coco, **coco_val_files, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type=InteractiveMetric)]
test_evaluator = val_evaluator
del train_loader, test_loader, coco_train_files, coco_val_files, _coco
