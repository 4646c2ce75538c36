# The reference's schedule (seg/configs/_base_/schedules/schedule_12e.py): AdamW 1e-4, wd 0.05,
# clip 0.01, 500-iteration warm-up, x0.1 at epochs 8 and 11 of 12.
from mmengine.optim import LinearLR, MultiStepLR, OptimWrapper
from mmengine.runner import EpochBasedTrainLoop, ValLoop
from torch.optim import AdamW

from seg.engine.test_loops import SegTestLoop

max_epochs = 12
train_cfg = dict(type=EpochBasedTrainLoop, max_epochs=max_epochs, val_interval=2)
val_cfg = dict(type=ValLoop)
test_cfg = dict(type=SegTestLoop)  # TestLoop + the click protocol of interactive metrics

embed_multi = dict(lr_mult=1.0, decay_mult=0.0)
optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=AdamW, lr=1e-4, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.1, decay_mult=1.0),
            'query_embed': embed_multi,
            'query_feat': embed_multi,
            'level_embed': embed_multi,
        },
        norm_decay_mult=0.0),
    clip_grad=dict(max_norm=0.01, norm_type=2))

param_scheduler = [
    dict(type=LinearLR, start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type=MultiStepLR, begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1),
]

# The reference enables this: lr * (GPUs x batch per GPU) / 16. It assumes 16 images per step
# (the paper's 32 A100s with batch 1 each give lr 2e-4). Off here; `--auto-scale-lr` turns it on.
auto_scale_lr = dict(enable=False, base_batch_size=16)
