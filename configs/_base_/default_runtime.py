from mmengine.hooks import DistSamplerSeedHook, IterTimerHook, LoggerHook, ParamSchedulerHook
from mmengine.runner import LogProcessor
from mmengine.visualization import LocalVisBackend, Visualizer

from seg.engine.checkpoint_hook import AtomicCheckpointHook
from seg.engine.vocabulary_check_hook import VocabularyCheckHook

default_scope = 'seg'

default_hooks = dict(
    timer=dict(type=IterTimerHook),
    logger=dict(type=LoggerHook, interval=50),
    param_scheduler=dict(type=ParamSchedulerHook),
    # Atomic writes (a kill while saving keeps the previous checkpoint) and exact resumption.
    checkpoint=dict(type=AtomicCheckpointHook, interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type=DistSamplerSeedHook))
# Training stops before the first step if the model's classes differ from the data's.
custom_hooks = [dict(type=VocabularyCheckHook)]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type=LocalVisBackend)]
visualizer = dict(type=Visualizer, vis_backends=vis_backends, name='visualizer')
log_processor = dict(type=LogProcessor, window_size=50, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
