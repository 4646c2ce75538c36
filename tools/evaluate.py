"""Offline evaluation of predictions stored in the official file formats.

    python tools/evaluate.py TASK [task options] [--out result.json] [--no-progress]

Tasks (all values are fractions in [0, 1]; -1 where COCO says undefined; null = NaN):
  coco-panoptic, cityscapes-panoptic  --gt-json --gt-dir --pred-json --pred-dir [--nproc N]
  coco-instance                       --gt-json --pred-json [--max-dets 1 10 100]
  youtube-vis                         --gt-json --pred-json [--max-dets 1 10 100]
  semantic                            --gt-dir --pred-dir (--meta META.json | --num-classes N)
                                      [--ignore-index 255]
  vipseg-vpq                          --gt-json --gt-dir --pred-json --pred-dir
                                      [--windows 1 2 4 6 8] [--nproc N]
  vipseg-stq                          --gt-json --gt-dir --pred-json --pred-dir [--num-classes N]
                                      [--nproc N]
  davis                               --davis-root DIR --results-dir DIR [--set val]
                                      [--resolution 480p]
A table is printed; `--out` writes the full result as JSON. Damaged or inconsistent inputs
(unreadable / truncated PNGs, PNGs of the wrong size or mode, json without a needed key, ids
missing from PNGs, duplicate image or video ids, predictions for images the ground truth does
not have, an empty prediction set) stop the run with one line `error: ...` naming the file, and
exit status 2. `--nproc N` evaluates images or
videos in N processes (forked on Linux); the result is identical to --nproc 1.
"""
import argparse
import json
import math
import sys
from typing import Any, Callable, Dict, List, Optional

from seg.evaluation import functional as F
from seg.utils.command_line import run_reporting_input_errors


def _panoptic(args) -> dict:
    return F.evaluate_coco_panoptic(args.gt_json, args.gt_dir, args.pred_json, args.pred_dir,
                                    progress=args.progress, nproc=args.nproc)


def _instance(args) -> dict:
    return F.evaluate_coco_instance(args.gt_json, args.pred_json, args.max_dets)


def _youtube_vis(args) -> dict:
    return F.evaluate_youtube_vis(args.gt_json, args.pred_json, args.max_dets)


def _semantic(args) -> dict:
    return F.evaluate_semantic(args.gt_dir, args.pred_dir, meta_json=args.meta,
                               num_classes=args.num_classes, ignore_index=args.ignore_index,
                               progress=args.progress)


def _vpq(args) -> dict:
    return F.evaluate_vipseg_vpq(args.gt_json, args.gt_dir, args.pred_json, args.pred_dir,
                                 windows=args.windows, progress=args.progress,
                                 nproc=args.nproc)


def _stq(args) -> dict:
    return F.evaluate_vipseg_stq(args.gt_json, args.gt_dir, args.pred_json, args.pred_dir,
                                 num_classes=args.num_classes, progress=args.progress,
                                 nproc=args.nproc)


def _davis(args) -> dict:
    return F.evaluate_davis(args.davis_root, args.results_dir, subset=args.set,
                            resolution=args.resolution, progress=args.progress)


def _num(value: Optional[float]) -> str:
    return '    nan' if value is None else f'{value:7.4f}'


def _panoptic_table(result: dict) -> List[str]:
    lines = [f'{"":10s}| {"PQ":>7s} {"SQ":>7s} {"RQ":>7s} {"N":>4s}']
    for name in ('All', 'Things', 'Stuff'):
        row = result[name]
        lines.append(f'{name:10s}| {row["pq"]:7.4f} {row["sq"]:7.4f} {row["rq"]:7.4f} '
                     f'{row["n"]:4d}')
    lines.append(f'{"category":>10s}| {"PQ":>7s} {"SQ":>7s} {"RQ":>7s} {"TP":>5s} {"FP":>5s} '
                 f'{"FN":>5s}')
    for category_id, row in result['per_class'].items():
        lines.append(f'{category_id:>10}| {row["pq"]:7.4f} {row["sq"]:7.4f} {row["rq"]:7.4f} '
                     f'{row["tp"]:5d} {row["fp"]:5d} {row["fn"]:5d}')
    return lines


def _key_values(values: Dict[str, Any]) -> List[str]:
    return [f'{key:>10s}: {_num(value)}' for key, value in values.items()]


def _semantic_table(result: dict) -> List[str]:
    lines = _key_values({k: result[k] for k in ('aAcc', 'mIoU', 'mAcc')})
    lines.append(f'{"class":>20s} {"IoU":>7s} {"Acc":>7s}')
    lines += [f'{name:>20s} {_num(row["IoU"])} {_num(row["Acc"])}'
              for name, row in result['per_class'].items()]
    return lines


def _vpq_table(result: dict) -> List[str]:
    lines = [f'{"frames":>6s} {"All":>7s} {"Things":>7s} {"Stuff":>7s} {"windows":>8s}']
    for window, row in result['per_nframes'].items():
        lines.append(f'{window:>6} {row["All"]["pq"]:7.4f} {row["Things"]["pq"]:7.4f} '
                     f'{row["Stuff"]["pq"]:7.4f} {row["num_windows"]:8d}')
    vpq = result['VPQ']
    lines.append(f'{"VPQ":>6s} {vpq["All"]:7.4f} {vpq["Things"]:7.4f} {vpq["Stuff"]:7.4f}')
    return lines


TASKS: Dict[str, tuple] = {
    'coco-panoptic': (_panoptic, _panoptic_table),
    'cityscapes-panoptic': (_panoptic, _panoptic_table),
    'coco-instance': (_instance, lambda r: _key_values(r['stats'])),
    'youtube-vis': (_youtube_vis, lambda r: _key_values(r['stats'])),
    'semantic': (_semantic, _semantic_table),
    'vipseg-vpq': (_vpq, _vpq_table),
    'vipseg-stq': (_stq, lambda r: _key_values({k: r[k] for k in ('STQ', 'AQ', 'IoU')})),
    'davis': (_davis, lambda r: _key_values(r['global'])),
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest='task', required=True)

    def add(task: str, help_text: str) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(task, help=help_text)
        sub.add_argument('--out', help='write the result as JSON to this file')
        sub.add_argument('--no-progress', dest='progress', action='store_false',
                         help='do not show progress bars')
        return sub

    for task in ('coco-panoptic', 'cityscapes-panoptic', 'vipseg-vpq', 'vipseg-stq'):
        sub = add(task, {'vipseg-vpq': 'VIPSeg video panoptic quality',
                         'vipseg-stq': 'VIPSeg segmentation and tracking quality'}.get(
                             task, 'panoptic quality (panopticapi rules)'))
        for name in ('--gt-json', '--gt-dir', '--pred-json', '--pred-dir'):
            sub.add_argument(name, required=True)
        sub.add_argument('--nproc', type=_positive_int, default=1,
                         help='processes evaluating images / videos in parallel (default 1)')
        if task == 'vipseg-vpq':
            sub.add_argument('--windows', type=int, nargs='+', default=list(F.VIPSEG_WINDOWS),
                             help='window sizes in frames (Cityscapes-VPS k=0/5/10/15: 1 2 3 4)')
        if task == 'vipseg-stq':
            sub.add_argument('--num-classes', type=int,
                             help='semantic classes (default: largest category id + 1)')
    for task in ('coco-instance', 'youtube-vis'):
        sub = add(task, 'mask AP (pycocotools COCOeval)' if task == 'coco-instance'
                  else 'YouTube-VIS video AP')
        sub.add_argument('--gt-json', required=True)
        sub.add_argument('--pred-json', required=True)
        sub.add_argument('--max-dets', type=int, nargs=3, default=list(F.DEFAULT_MAX_DETS),
                         help='maxDets thresholds (mmdet uses 100 300 1000); as in '
                              'pycocotools, AP itself is read at 100')
    sub = add('semantic', 'aAcc / mIoU / mAcc (mmseg conventions)')
    sub.add_argument('--gt-dir', required=True)
    sub.add_argument('--pred-dir', required=True)
    classes = sub.add_mutually_exclusive_group(required=True)
    classes.add_argument('--meta', help='json with `classes` (and optional ignore_index, files)')
    classes.add_argument('--num-classes', type=int)
    sub.add_argument('--ignore-index', type=int, help="GT ignore label (default: meta's or 255)")
    sub = add('davis', 'DAVIS-2017 semi-supervised J&F')
    sub.add_argument('--davis-root', required=True)
    sub.add_argument('--results-dir', required=True)
    sub.add_argument('--set', default='val')
    sub.add_argument('--resolution', default='480p')
    return parser


def to_json(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN to None, keys to str."""
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if hasattr(value, 'item') and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def main(argv: Optional[List[str]] = None, echo: Callable[[str], None] = print) -> dict:
    """Run one task; returns the JSON-ready result (also written to `--out`)."""
    args = build_parser().parse_args(argv)
    evaluate, table = TASKS[args.task]
    result = to_json(evaluate(args))
    echo(f'{args.task} (fractions)')
    for line in table(result):
        echo(line)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1)
        echo(f'wrote {args.out}')
    return result


def run(argv: Optional[List[str]] = None) -> int:
    """The command line: exit status 0, or 2 with one line on stderr for a bad input."""
    def evaluate(args) -> int:
        main(args)
        return 0
    return run_reporting_input_errors(evaluate, argv)

if __name__ == '__main__':
    sys.exit(run(sys.argv[1:]))
