# ADE20K panoptic (the reference's seg/configs/m2ov_val/datasets/ade.py and
# eval_m2_convl_300q_ov_ade.py). Validation: resize to fit (2560, 640), batch 2, PQ against the
# COCO-format panoptic json (things first in the class list, whatever its order). Training (the
# close-set co-training config): 1280x736 crops after a 0.8-2.0 resize, flip.
from mmengine.config import read_base

from seg.datasets import ADE20KPanopticDataset
from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import CocoPanopticMetric

with read_base():
    from ._loaders import test_loader, train_loader

ade_data_root = 'data/ade/ADEChallengeData2016/'

ade_vocabulary = dict(ann_file=ade_data_root + 'ade20k_panoptic_train.json',
                      name='ade20k_panoptic')
ade_train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=(1280, 736), ratio_range=(0.8, 2.0), keep_ratio=True),
    dict(type=RandomCrop, crop_size=(736, 1280), crop_type='absolute', allow_negative_crop=True),
    dict(type=FilterAnnotations, min_gt_mask_area=1, by_mask=True),
    dict(type=PackSegInputs),
]
ade_test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(2560, 640), keep_ratio=True),
    # Annotations after the resize: PQ is computed at the original size.
    dict(type=LoadPanopticAnnotations),
    dict(type=PackSegInputs),
]

_ade = dict(type=ADE20KPanopticDataset, data_root=ade_data_root)
train_dataloader = dict(train_loader, dataset=dict(
    _ade, ann_file='ade20k_panoptic_train.json',
    data_prefix=dict(img='images/training/', seg='ade20k_panoptic_train/'),
    dataset_name='ade20k_panoptic', filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=ade_train_pipeline))
test_dataloader = dict(test_loader, dataset=dict(
    _ade, ann_file='ade20k_panoptic_val.json',
    data_prefix=dict(img='images/validation/', seg='ade20k_panoptic_val/'), test_mode=True,
    pipeline=ade_test_pipeline))
test_evaluator = [dict(type=CocoPanopticMetric)]
del train_loader, test_loader, _ade
