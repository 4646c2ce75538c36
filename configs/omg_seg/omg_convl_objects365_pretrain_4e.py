# Optional Objects365 instance pre-training of the OMG-Seg decoder (the reference only points to
# its checkpoint, `m2_300q_convl_vlm_fix_4e_ov_obj365/epoch_4.pth`): frozen ConvNeXt-L, 4 epochs,
# x0.1 at epoch 3. Start a co-training run from it with `--cfg-options load_from=<epoch_4.pth>`.
#   python tools/gen_cls.py configs/omg_seg/omg_convl_objects365_pretrain_4e.py
#   bash tools/dist.sh train configs/omg_seg/omg_convl_objects365_pretrain_4e.py 8
# Learning rate: as the co-training configs, 1e-4 for 16 images per step, auto-scaled.
from mmengine.config import read_base
from mmengine.optim import LinearLR, MultiStepLR
from mmengine.runner import EpochBasedTrainLoop

with read_base():
    from .._base_.datasets.objects365_instance import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

model.vocabulary = vocabulary
train_dataloader.batch_size = 1

max_epochs = 4
train_cfg = dict(type=EpochBasedTrainLoop, max_epochs=max_epochs)
param_scheduler = [
    dict(type=LinearLR, start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type=MultiStepLR, begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1),
]
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
auto_scale_lr = dict(enable=True, base_batch_size=16)
