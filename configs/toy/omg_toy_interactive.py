# The toy model trained jointly on panoptic and interactive (click) segmentation of the toy
# COCO-panoptic data (`python tools/make_toy_data.py`), then evaluated on both: PQ and the click
# protocol (1-click mIoU as the reference, NoC@85 / NoC@90 / mIoU@k over 20 clicks).
#
# Training batches hold one image (batch_size=1, as the reference's one image per GPU): every
# batch is then either a panoptic or a prompt batch; the model refuses batches mixing both.
from mmengine.config import read_base
from mmengine.hooks import CheckpointHook, LoggerHook
from mmengine.optim import LinearLR, MultiStepLR
from mmengine.runner import IterBasedTrainLoop

from seg.datasets import (CocoPanopticDataset, CocoPanopticInteractiveDataset, JointDataset,
                          SingleSourceBatchSampler)
from seg.datasets.transforms import (AddStuffInstances, FilterAnnotations, GenerateEvalClicks,
                                     GeneratePrompts, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackInteractiveInputs,
                                     RandomCrop, RandomFlip, RandomResize, Resize)
from seg.evaluation.metrics import CocoPanopticMetric, InteractiveMetric
from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets._loaders import (coco_train_files, coco_val_files, test_loader,
                                            train_loader)
    from .omg_toy_coco_panoptic import *  # noqa: F401,F403

# Prompt encoding (issue 14; the released-weight configs keep the reference's settings, see
# seg.models.heads.prompt_encoder): a click is a 6x6 box with the "point" type embedding,
# normalised by the padded input (the frame of the decoder's position codes), its content query
# seeded with the stride-4 mask feature at the click, no shared first-layer attention mask,
# several positive / negative clicks per prompt (the multi-click protocol then gives each object
# one prompt holding all its clicks), and mask logits kept near the prompt's positive anchors
# and away from its negative clicks (locality: objects of one class look alike to the seed).
# The click square is in network-input pixels (6 px of 128-160 px inputs, train and test alike)
# and the training jitter of a click is ~0.02 px: the position of a click is taken as given.
click_prompt_encoder = dict(type=PromptEncoder, point_radius=3, point_type_embedding=True,
                            noise_scale=0.4, noise_damping=0.01, frame='padded',
                            content_seed='mask_features', first_layer_mask=False,
                            multi_point=True, corrective_clicks=0.75, locality=True)
# Random extra clicks per training prompt (uniform 0..2, half positive, negatives near the
# object); 3 prompt batches in 4 then get one corrective click per prompt on the model's own
# error (PromptEncoder.corrective_clicks), as the click protocol gives them.
click_extra_points = 2
# One test pass gives PQ (semantic queries) and the 20-click protocol (prompt queries; the
# test loop runs it for InteractiveMetric).
click_test_cfg = dict(with_panoptic=True)
click_protocol = dict(max_clicks=20, stop_iou=0.9)
model.update(prompt_encoder=click_prompt_encoder, interactive_test_cfg=click_test_cfg)
# Memory position codes at cell centres ((i + 0.5) / h, as prompts and the pixel decoder's
# reference points) instead of the cells' far edges ((i + 1) / h).
click_decoder_positions = dict(normalize=True, offset=-0.5)
model.panoptic_head.positional_encoding = click_decoder_positions
# Prompt embeddings get no weight decay, as the semantic query embeddings.
click_paramwise_keys = {'prompt_encoder.mask_tokens': embed_multi,
                        'prompt_encoder.pb_embedding': embed_multi,
                        'prompt_encoder.point_label_embedding': embed_multi}
optim_wrapper.paramwise_cfg.custom_keys.update(click_paramwise_keys)

panoptic_train_pipeline = train_pipeline  # the panoptic toy's (omg_toy_coco_panoptic.py)
interactive_train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=AddStuffInstances),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=crop_size, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type=RandomCrop, crop_size=crop_size, crop_type='absolute', allow_negative_crop=False),
    dict(type=FilterAnnotations, min_gt_mask_area=16, by_mask=True, keep_empty=False),
    # A random pixel of a mask becomes a click (reference); N = 20 prompts per image (the
    # reference's number; the toy images hold 3-8 segments, so each gets several clicks).
    dict(type=GeneratePrompts, num_prompts=20, mode='point',
         max_extra_points=click_extra_points),
    dict(type=PackInteractiveInputs),
]
interactive_test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(160, 160), keep_ratio=True),
    dict(type=LoadPanopticAnnotations),
    dict(type=AddStuffInstances),
    dict(type=GenerateEvalClicks),
    dict(type=PackInteractiveInputs),
]

_split = dict(data_root=data_root, **coco_train_files,
              filter_cfg=dict(filter_empty_gt=True, min_size=16))
# Every step takes one source on every rank (SingleSourceBatchSampler): with the default
# sampler, under DDP two ranks could run a prompt and a panoptic batch in the same step and
# disagree on which parameters get gradients. The prompt source is class-agnostic (no
# vocabulary).
train_dataloader = dict(
    train_loader, batch_size=1, num_workers=1, persistent_workers=False,
    batch_sampler=dict(type=SingleSourceBatchSampler),
    dataset=dict(
        type=JointDataset,
        datasets=[
            dict(type=CocoPanopticDataset, pipeline=panoptic_train_pipeline, **_split),
            dict(type=CocoPanopticInteractiveDataset, pipeline=interactive_train_pipeline,
                 **_split),
        ],
        data_tags=['panoptic', 'interactive'],
        name='toy_coco'))
# Prompt steps leave the semantic queries and the class head without gradients, panoptic
# steps the prompt encoder: DDP must not wait for them.
find_unused_parameters = True

test_dataloader = dict(
    test_loader, batch_size=4, num_workers=1, persistent_workers=False,
    dataset=dict(type=CocoPanopticInteractiveDataset, data_root=data_root, **coco_val_files,
                 test_mode=True, pipeline=interactive_test_pipeline))
test_evaluator = [dict(type=CocoPanopticMetric), dict(type=InteractiveMetric, **click_protocol)]

# About 4.5 minutes on 2 quiet CPU cores (one image per step; training + test measured at
# 254 s + 14 s, issue 14).
max_iters = 2000
train_cfg = dict(type=IterBasedTrainLoop, max_iters=max_iters)
param_scheduler = [
    dict(type=LinearLR, start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type=MultiStepLR, begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1),
]
default_hooks.update(
    logger=dict(type=LoggerHook, interval=100),
    checkpoint=dict(type=CheckpointHook, by_epoch=False, interval=1000, max_keep_ckpts=1))
del _split, coco_train_files, coco_val_files, test_loader, train_loader
