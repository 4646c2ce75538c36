# The embedded default: a tiny OMG-Seg trained from scratch on CPU on the generated toy COCO
# panoptic dataset (`python tools/make_toy_data.py`). Classes, the thing/stuff split and the
# text embeddings come from the dataset's json, so any COCO-panoptic folder of similar size
# trains with this config unchanged (see DATASET.md).
from mmengine.config import read_base
from mmengine.hooks import CheckpointHook, LoggerHook
from mmengine.optim import LinearLR, MultiStepLR, OptimWrapper
from mmengine.runner import IterBasedTrainLoop, LogProcessor
from torch.optim import AdamW

from seg.datasets.transforms import (FilterAnnotations, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackSegInputs, RandomCrop,
                                     RandomFlip, RandomResize, Resize)

with read_base():
    from .._base_.datasets.coco_panoptic_lsj import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

data_root = 'data/toy_coco/'
toy_channels = 64
crop_size = (128, 128)

# A small open_clip ConvNeXt built from scratch (no pretrained weights, trainable).
model.backbone.update(
    model_name='convnext_omg_toy',
    pretrained=None,
    frozen=False,
    model_cfg=dict(
        embed_dim=64,
        vision_cfg=dict(timm_model_name='convnext_omg_toy', timm_model_pretrained=False,
                        timm_pool='', timm_proj='mlp', timm_drop=0.0, timm_drop_path=0.0,
                        image_size=64),
        text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=2, layers=2)),
    trunk_cfg=dict(depths=(1, 1, 2, 1), dims=(32, 64, 128, 256), conv_mlp=False))
model.vocabulary = dict(ann_file=data_root + 'annotations/panoptic_train2017.json',
                        name='toy_coco')
# Random text tower: the "text embeddings" are fixed random class prototypes, generated once.
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)

# The width is given once; the head hands it to every attention / FFN / positional block.
_head = model.panoptic_head
_head.update(feat_channels=toy_channels, out_channels=toy_channels, num_queries=20)
_head.pixel_decoder.encoder.update(num_layers=2)
_head.pixel_decoder.encoder.layer_cfg.self_attn_cfg.update(num_heads=4)
_head.pixel_decoder.encoder.layer_cfg.ffn_cfg.update(feedforward_channels=128)
_head.transformer_decoder.update(num_layers=4)
_head.transformer_decoder.layer_cfg.self_attn_cfg.update(num_heads=4)
_head.transformer_decoder.layer_cfg.cross_attn_cfg.update(num_heads=4)
_head.transformer_decoder.layer_cfg.ffn_cfg.update(feedforward_channels=256)
del _head
model.train_cfg.update(num_points=1024)
model.test_cfg.update(max_per_image=50)

# COCO's pipelines (coco_panoptic_lsj.py) at the toy's sizes: 128x128 crops after a 0.8-1.25
# resize, test images resized to fit 160x160.
train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomResize, scale=crop_size, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type=RandomCrop, crop_size=crop_size, crop_type='absolute', allow_negative_crop=True),
    dict(type=FilterAnnotations, min_gt_mask_area=1, by_mask=True),
    dict(type=PackSegInputs),
]
test_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=Resize, scale=(160, 160), keep_ratio=True),
    dict(type=LoadPanopticAnnotations),
    dict(type=PackSegInputs),
]

train_dataloader.update(batch_size=8, num_workers=1, persistent_workers=False)
train_dataloader.dataset.update(data_root=data_root, pipeline=train_pipeline,
                                filter_cfg=dict(filter_empty_gt=True, min_size=16))
val_dataloader.update(batch_size=8, num_workers=1, persistent_workers=False)
val_dataloader.dataset.update(data_root=data_root, pipeline=test_pipeline)
test_dataloader = val_dataloader
# The main job evaluates once, with tools/test.py after training (no validation in between).
val_dataloader = None
val_evaluator = None
val_cfg = None

max_iters = 600
train_cfg = dict(type=IterBasedTrainLoop, max_iters=max_iters)
optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=AdamW, lr=1e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        custom_keys={'query_embed': embed_multi, 'query_feat': embed_multi,
                     'level_embed': embed_multi},
        norm_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type=LinearLR, start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type=MultiStepLR, begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1),
]
default_hooks.update(
    logger=dict(type=LoggerHook, interval=50),
    checkpoint=dict(type=CheckpointHook, by_epoch=False, interval=200, max_keep_ckpts=2))
log_processor = dict(type=LogProcessor, window_size=50, by_epoch=False)
