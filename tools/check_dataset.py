"""Validate the files of a config's dataset before a long run.

    python tools/check_dataset.py CONFIG [--split train|val|test] [--jobs N] [--out FILE.json]
                                         [--cfg-options KEY=VALUE ...]

Builds the split's dataset exactly as training / testing would (json errors fail here), then
checks every sample (see ``seg/datasets/dataset_check.py``), prints a summary and exits with 1
when any error was found (warnings alone exit with 0).
"""
import argparse
import dataclasses
import json
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from seg.datasets.dataset_check import check_dataset, leaf_datasets
from seg.registry import DATASETS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Check every file of a dataset config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train',
                        help='which dataloader\'s dataset to check (default: train)')
    parser.add_argument('--jobs', type=int, default=1, help='worker processes')
    parser.add_argument('--out', help='write every finding to this json file')
    parser.add_argument('--max-shown', type=int, default=20,
                        help='findings printed in the summary')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_dataloader.dataset.data_root=X')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'seg'))
    key = f'{args.split}_dataloader'
    loader_cfg = cfg.get(key)
    if not loader_cfg or 'dataset' not in loader_cfg:
        print(f'{args.config} has no {key}.dataset', file=sys.stderr)
        return 1
    try:
        dataset = DATASETS.build(loader_cfg['dataset'])
    except Exception as error:  # the json or the dataset config is broken
        print(f'cannot build the {args.split} dataset of {args.config}: '
              f'{type(error).__name__}: {error}', file=sys.stderr)
        return 1

    reports = []
    for number, leaf in enumerate(leaf_datasets(dataset)):
        name = f'{args.split}[{number}] {type(leaf).__name__} ({getattr(leaf, "ann_file", "")})'
        print(f'checking {name}: {len(leaf)} samples')
        reports.append(check_dataset(leaf, name=name, jobs=args.jobs))
    for report in reports:
        print(report.summary(args.max_shown))
    if args.out:
        with open(args.out, 'w') as handle:
            json.dump([dict(name=report.name, num_samples=report.num_samples,
                            problems=[dataclasses.asdict(problem) for problem in report.problems])
                       for report in reports], handle, indent=1)
        print(f'findings written to {args.out}')
    num_errors = sum(len(report.errors) for report in reports)
    print('dataset OK' if not num_errors else f'{num_errors} error(s) found')
    return 1 if num_errors else 0


if __name__ == '__main__':
    sys.exit(main())
