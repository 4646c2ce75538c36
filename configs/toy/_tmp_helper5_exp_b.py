from mmengine.config import read_base
with read_base():
    from .omg_toy_interactive import *  # noqa
train_dataloader['dataset'] = train_dataloader['dataset']['datasets'][1]
max_iters = 1000
train_cfg = dict(type=IterBasedTrainLoop, max_iters=max_iters)
param_scheduler = [dict(type=LinearLR, start_factor=0.01, by_epoch=False, begin=0, end=100)]
model['interactive_test_cfg'] = dict(max_clicks=1, with_panoptic=False)
test_evaluator = [dict(type=InteractiveMetric)]
