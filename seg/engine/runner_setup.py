"""Shared command-line glue of tools/train.py and tools/test.py."""
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import seg.engine  # noqa: F401  (safe checkpoint loader, hooks and optimiser wrappers)


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
    if 'model' in cfg and cfg.model.get('config_path', None) is None:
        cfg.model.config_path = config_path
    if amp:
        _enable_amp(cfg)
    _add_checkpoint_format_hook(cfg)
    return cfg


def _add_checkpoint_format_hook(cfg: Config) -> None:
    """Every run saves checkpoints that load with ``weights_only=True`` (see the hook)."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(_hook_name(hook) == 'CheckpointFormatHook' for hook in hooks):
        hooks.append(dict(type='CheckpointFormatHook'))
    cfg.custom_hooks = hooks


def _hook_name(hook) -> str:
    kind = hook.get('type') if isinstance(hook, dict) else type(hook)
    return kind if isinstance(kind, str) else getattr(kind, '__name__', '')


def _enable_amp(cfg: Config) -> None:
    """Mixed precision: fp16 with loss scaling on GPU, bf16 (no scaling needed) on CPU."""
    on_gpu = torch.cuda.is_available()
    if 'optim_wrapper' in cfg:
        wrapper = cfg.optim_wrapper
        if on_gpu:
            wrapper.type = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
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
