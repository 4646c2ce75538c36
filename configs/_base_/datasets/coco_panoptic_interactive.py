# COCO panoptic as interactive (SAM-like) data (reference section 2.3): every segment, stuff
# included, is a promptable instance. Training: flip, resize (1280, 736) with ratio 0.1-2.0, crop
# 1280x736, masks of at least 32 pixels, 20 prompts per image (a random pixel of a mask becomes
# a click: a 6x6 box). Test: resize to fit (1333, 800), every segment prompted by the interior
# point farthest from its boundary, batch 1; mean IoU of the one-click masks (the reference's
# protocol; model.interactive_test_cfg.max_clicks > 1 adds the NoC / mIoU@k click curve).
from mmengine.dataset import DefaultSampler, pseudo_collate

from seg.datasets import CocoPanopticInteractiveDataset
from seg.datasets.transforms import (AddStuffInstances, FilterAnnotations, GenerateEvalClicks,
                                     GeneratePrompts, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackInteractiveInputs,
                                     RandomCrop, RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import InteractiveMetric

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

train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(
        type=CocoPanopticInteractiveDataset,
        data_root=data_root,
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type=DefaultSampler, shuffle=False),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(
        type=CocoPanopticInteractiveDataset,
        data_root=data_root,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type=InteractiveMetric)]
test_evaluator = val_evaluator
