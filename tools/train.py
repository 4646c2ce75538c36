"""Train a model from a config with the MMEngine runner.

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [CKPT]] [--dry-run N]
                                 [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os.path as osp

from mmengine.config import Config

from seg.engine.runner_setup import (add_launch_arguments, build_runner, parse_launch_args,
                                     setup_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an OMG-Seg model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (fp16 on GPU, bf16 on CPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch size '
                        '(auto_scale_lr.base_batch_size in the config)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint of the work dir '
                        'when no path is given')
    parser.add_argument('--dry-run', type=int, metavar='N',
                        help='check a config end to end: N training iterations at the '
                        'configured base learning rate (no schedule, no validation), one '
                        'checkpoint at the end')
    add_launch_arguments(parser)
    return parse_launch_args(parser, argv)


def make_dry_run(cfg: Config, iterations: int) -> None:
    """Turn ``cfg`` into a short smoke-test run of ``iterations`` training steps."""
    if iterations < 1:
        raise ValueError(f'--dry-run needs at least 1 iteration, got {iterations}')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iterations)
    cfg.param_scheduler = None
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=iterations)
    cfg.default_hooks.logger.update(interval=1)
    if cfg.get('log_processor') is None:
        cfg.log_processor = dict(by_epoch=False)
    else:
        cfg.log_processor.by_epoch = False


def _uses(config, type_name: str) -> bool:
    if isinstance(config, dict):
        return config.get('type') == type_name or any(_uses(value, type_name)
                                                       for value in config.values())
    if isinstance(config, (list, tuple)):
        return any(_uses(value, type_name) for value in config)
    return False


def add_skipped_samples_hook(cfg: Config) -> None:
    """With ``SkipBadSamplesDataset`` in the training data, list the skipped files in
    ``<work_dir>/skipped_samples.json`` (seg/datasets/skip_bad_samples.py)."""
    loader = cfg.get('train_dataloader')
    if not loader or not _uses(loader.get('dataset'), 'SkipBadSamplesDataset'):
        return
    import seg.datasets.skip_bad_samples  # noqa: F401  (registers SkippedSamplesHook)
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(isinstance(hook, dict) and hook.get('type') == 'SkippedSamplesHook'
               for hook in hooks):
        hooks.append(dict(type='SkippedSamplesHook'))
    cfg.custom_hooks = hooks


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    setup_config(cfg, args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                 launcher=args.launcher, amp=args.amp)
    if args.dry_run is not None:
        make_dry_run(cfg, args.dry_run)
    if args.auto_scale_lr:
        cfg.auto_scale_lr = dict(cfg.get('auto_scale_lr', {}), enable=True)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    add_skipped_samples_hook(cfg)
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
