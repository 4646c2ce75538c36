# ADE20K panoptic validation (reference sections 3.2 and 4): resize to fit (2560, 640), batch 2,
# PQ against the COCO-format panoptic json (things first in the class list, whatever its order).
from mmengine.dataset import DefaultSampler, pseudo_collate

from seg.datasets import ADE20KPanopticDataset
from seg.datasets.transforms import (LoadImageFromFile, LoadPanopticAnnotations, PackSegInputs,
                                     Resize)
from seg.evaluation.metrics import CocoPanopticMetric

ade_data_root = 'data/ade/ADEChallengeData2016/'

ade_test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(2560, 640), keep_ratio=True),
    # Annotations after the resize: PQ is computed at the original size.
    dict(type=LoadPanopticAnnotations),
    dict(type=PackSegInputs),
]

test_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type=DefaultSampler, shuffle=False),
    collate_fn=dict(type=pseudo_collate),
    dataset=dict(
        type=ADE20KPanopticDataset,
        data_root=ade_data_root,
        ann_file='ade20k_panoptic_val.json',
        data_prefix=dict(img='images/validation/', seg='ade20k_panoptic_val/'),
        test_mode=True,
        pipeline=ade_test_pipeline))
test_evaluator = [dict(type=CocoPanopticMetric)]
