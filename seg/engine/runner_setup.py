"""Shared command-line glue of tools/train.py and tools/test.py."""
import argparse
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import seg.engine  # noqa: F401  (safe checkpoint loader, hooks and optimiser wrappers)
from .config_validation import validate_config
from .non_finite import GUARD_ARGUMENTS


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local_rank`` (set by old-style launchers)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.panoptic_head.num_queries=50')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launch_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def setup_config(cfg: Config, config_path: str, work_dir: Optional[str] = None,
                 cfg_options: Optional[dict] = None, launcher: str = 'none',
                 amp: bool = False) -> Config:
    """Apply the command-line choices to ``cfg`` in place and return it."""
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    cfg.setdefault('default_scope', 'seg')
    if launcher != 'none' and not torch.cuda.is_available():
        # NCCL needs GPUs; gloo runs distributed jobs on CPU.
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        # MMEngine's default wrapper passes device_ids=[LOCAL_RANK], which DDP refuses for a
        # model on the CPU.
        cfg.setdefault('model_wrapper_cfg', dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False)))
    _check_unused_parameters(cfg, launcher)
    if 'model' in cfg and cfg.model.get('config_path', None) is None:
        cfg.model.config_path = config_path
    if amp:
        _enable_amp(cfg)
    _add_reliability_components(cfg)
    validate_config(cfg)
    return cfg


def _check_unused_parameters(cfg: Config, launcher: str) -> None:
    """A model with a prompt encoder leaves some parameters without gradients at every step
    (the prompt encoder on semantic batches, the semantic queries and class head on prompt
    batches: see ``OMGSegmentor.forward``); DDP then needs ``find_unused_parameters=True`` or
    it waits forever for their gradients. Refuse the run up front instead."""
    model = cfg.get('model') or {}
    if launcher == 'none' or model.get('prompt_encoder') is None:
        return
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if not wrapper.get('find_unused_parameters', cfg.get('find_unused_parameters', False)):
        raise ValueError(
            'distributed training of a model with a prompt encoder (model.prompt_encoder) needs '
            'find_unused_parameters = True in the config (prompt and semantic batches use '
            'different parameters); set it, or model.prompt_encoder = None for a model without '
            'point / box prompts')


def _add_reliability_components(cfg: Config) -> None:
    """What every run through our tools gets (each documented in its own module):

    * VocabularyCheckHook: the model's vocabulary and text embeddings are loaded before the
      run (the model constructor reads no file) and checked against the training data;
    * CheckpointFormatHook: checkpoints load with ``weights_only=True``;
    * CheckpointCompatibilityHook (strict unless the config adds its own): a checkpoint that
      does not fit the model raises instead of loading partially;
    * RecordSampleIdsHook + GuardedOptimWrapper (for a plain ``OptimWrapper``, default
      ``on_non_finite='stop'``): non-finite losses never reach the weights;
    * AtomicCheckpointHook in place of a plain ``CheckpointHook``: atomic checkpoint files,
      exact resumption.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    present = {_type_name(hook) for hook in hooks}
    for name in ('VocabularyCheckHook', 'CheckpointFormatHook', 'CheckpointCompatibilityHook',
                 'RecordSampleIdsHook'):
        if name not in present:
            hooks.append(dict(type=name))
    cfg.custom_hooks = hooks
    checkpoint_hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint_hook is not None and _type_name(checkpoint_hook) == 'CheckpointHook':
        checkpoint_hook['type'] = 'AtomicCheckpointHook'
    wrapper = cfg.get('optim_wrapper')
    if wrapper is not None and _type_name(wrapper) == 'OptimWrapper':
        wrapper['type'] = 'GuardedOptimWrapper'


def _type_name(hook) -> str:
    kind = hook.get('type') if isinstance(hook, dict) else type(hook)
    return kind if isinstance(kind, str) else getattr(kind, '__name__', '')


def _enable_amp(cfg: Config) -> None:
    """Mixed precision: fp16 with loss scaling on GPU, bf16 (no scaling needed) on CPU."""
    on_gpu = torch.cuda.is_available()
    if 'optim_wrapper' in cfg:
        wrapper = cfg.optim_wrapper
        if on_gpu:
            # GradScaler skips steps with non-finite gradients by itself.
            wrapper.type = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
            for key in GUARD_ARGUMENTS:
                wrapper.pop(key, None)
        else:
            wrapper.type = 'CPUAutocastOptimWrapper'
            wrapper.dtype = 'bfloat16'
    for loop in ('val_cfg', 'test_cfg'):
        if cfg.get(loop) is not None:
            cfg[loop]['fp16'] = True


def build_runner(cfg: Config) -> Runner:
    """The runner named by ``runner_type`` (default: MMEngine's)."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
