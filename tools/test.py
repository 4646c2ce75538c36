"""Evaluate a checkpoint on a config's test set; writes <work_dir>/metrics.json.

    python tools/test.py CONFIG [--checkpoint CKPT] [--work-dir DIR] [--amp] [--out FILE.pkl]
                                [--show-dir DIR] [--cfg-options ...] [--launcher ...]
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config
from mmengine.dist import is_main_process

from seg.engine.runner_setup import (add_launch_arguments, build_runner, parse_launch_args,
                                     setup_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) an OMG-Seg model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='checkpoint to evaluate (default: load_from of the '
                        'config; none means the model as initialised)')
    parser.add_argument('--work-dir', help='folder for logs and metrics.json')
    parser.add_argument('--amp', action='store_true', help='mixed-precision inference')
    parser.add_argument('--out', help='also dump the raw predictions to this .pkl file')
    parser.add_argument('--show-dir', help='save visualised predictions here (relative paths '
                        'go under the work dir)')
    add_launch_arguments(parser)
    return parse_launch_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    setup_config(cfg, args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                 launcher=args.launcher, amp=args.amp)
    if args.checkpoint is not None:
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(f'--checkpoint not found: {args.checkpoint}')
        cfg.load_from = args.checkpoint
    if args.show_dir:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SegVisualizationHook', show_dir=args.show_dir)]
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        cfg.test_evaluator = list(_as_list(cfg.test_evaluator)) + [
            dict(type='DumpResults', out_file_path=args.out)]
    runner = build_runner(cfg)
    metrics = runner.test()
    if is_main_process():
        path = osp.join(cfg.work_dir, 'metrics.json')
        with open(path, 'w') as file:
            json.dump({key: _plain(value) for key, value in metrics.items()}, file, indent=2)
        print(f'metrics written to {path}')


def _as_list(value):
    return value if isinstance(value, (list, tuple)) else [value]


def _plain(value):
    """JSON-friendly scalar (numpy/torch numbers become Python numbers)."""
    return value.item() if hasattr(value, 'item') else value


if __name__ == '__main__':
    main()
