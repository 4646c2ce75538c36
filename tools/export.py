"""Export the image path of an OMG-Seg model to ONNX or a torch.export program.

    python tools/export.py CONFIG [--checkpoint CKPT] --format onnx|torch-export --size H W
        --out FILE [--check] [--vocabulary NAMES... [--stuff NAMES...]] [--static]
        [--opset N] [--cfg-options k=v ...]

The exported program takes one preprocessed image (1, 3, H, W): normalised with the config's
mean / std (RGB) and padded bottom/right to multiples of the data preprocessor's
`pad_size_divisor`, as `SegDataPreprocessor` makes it. It returns the last decoder layer's
`class_logits` (Q, K+1), `objectness` (Q, 1) and `mask_logits` (Q, H/4, W/4), classified
against the text embeddings of the model's vocabulary at export time (baked in as constants:
export again for another vocabulary). H and W are dynamic (any multiples of the divisor from
2 x divisor to 4096) unless `--static`; --size is the example size the export traces.

Next to FILE, FILE.json holds what a deployment needs: preprocessing, class names, the number
of thing classes and the post-processing settings for `seg.deploy.postprocess_numpy`
(panoptic / instance / semantic results in numpy, no torch).

--check runs the exported file (onnxruntime for ONNX, the saved ExportedProgram for
torch-export) on random inputs of two sizes (--size and another one; one size with --static),
prints the largest difference of every output from eager PyTorch and exits 1 if one exceeds
the tolerance: max|diff| <= atol + rtol * max|eager output| with atol = rtol = 1e-4 (ONNX) or
1e-5 (torch-export).

Without --checkpoint the model keeps its random initialisation (a warning says so): fine for
trying the export, meaningless predictions. What does not export (video linking, prompts,
open-vocabulary fusion) and why: docs/EXPORT.md.
"""
import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def parse_args(argv=None) -> argparse.Namespace:
    from seg.deploy.export import FORMATS, ONNX_OPSET
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='model config file (e.g. configs/toy/omg_toy_coco_'
                                       'panoptic.py)')
    parser.add_argument('--checkpoint', help='weights (converted, or a published OMG-Seg file, '
                                             'converted on loading); default: random weights')
    parser.add_argument('--format', required=True, choices=FORMATS, help='exporter')
    parser.add_argument('--size', required=True, nargs=2, type=int, metavar=('H', 'W'),
                        help='example padded input size (multiples of the size divisor)')
    parser.add_argument('--out', required=True, type=Path,
                        help='output file (.onnx, or .pt2 for torch-export)')
    parser.add_argument('--check', action='store_true',
                        help='compare the exported file with eager PyTorch on two sizes')
    parser.add_argument('--vocabulary', nargs='+', metavar='NAME',
                        help='thing class names (or one names file) replacing the config\'s '
                             'vocabulary; text embeddings are generated with the text tower')
    parser.add_argument('--stuff', nargs='+', default=[], metavar='NAME',
                        help='stuff class names (with --vocabulary)')
    parser.add_argument('--static', action='store_true',
                        help='fixed input size (--size) instead of dynamic height / width')
    parser.add_argument('--opset', type=int, default=ONNX_OPSET,
                        help=f'ONNX opset (>= 18; default {ONNX_OPSET})')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='override config keys, e.g. model.test_cfg.object_mask_thr=0.5')
    args = parser.parse_args(argv)
    if args.stuff and not args.vocabulary:
        parser.error('--stuff needs --vocabulary (the thing classes)')
    if args.opset < 18:
        parser.error(f'--opset {args.opset}: the exporter needs opset >= 18')
    return args


def _cfg_options(pairs):
    from mmengine.config import DictAction
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='options')(None, namespace, pairs)
    return namespace.options


def build_model(args):
    """The config's model (checkpoint loaded, vocabulary installed) on the CPU."""
    from seg.apis import Predictor
    from seg.vocab.runtime_vocabulary import vocabulary_from_names
    vocabulary = None
    if args.vocabulary:
        names = args.vocabulary
        if len(names) == 1 and Path(names[0]).is_file() and not args.stuff:
            vocabulary = vocabulary_from_names(names[0])
        else:
            vocabulary = vocabulary_from_names(names, args.stuff)
    try:
        predictor = Predictor.from_config(args.config, args.checkpoint, device='cpu',
                                          vocabulary=vocabulary,
                                          cfg_options=_cfg_options(args.cfg_options) or None)
    except FileNotFoundError as error:
        hint = ('' if args.vocabulary else
                '\n(if this is the config\'s vocabulary file: generate the dataset, e.g. '
                'python tools/make_toy_data.py --out data/toy_coco, or pass --vocabulary '
                'NAMES [--stuff NAMES])')
        raise SystemExit(f'error: {error}{hint}') from None
    return predictor.model.eval()


def print_check(rows, tolerance) -> bool:
    print(f'check: max |exported - eager| per output; allowed = {tolerance.atol:g} + '
          f'{tolerance.rtol:g} * max|eager|')
    for row in rows:
        status = 'ok' if row['ok'] else 'FAIL'
        note = f' ({row["note"]})' if 'note' in row else ''
        print(f'  {row["size"][0]}x{row["size"][1]} {row["output"]:<12} '
              f'max diff {row["max_diff"]:.3e}  allowed {row["allowed"]:.3e}  {status}{note}')
    return all(row['ok'] for row in rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from seg.deploy import export as exporting

    torch.manual_seed(0)
    model = build_model(args)
    print(f'{args.config}: vocabulary {model.vocabulary.name!r} ({len(model.vocabulary.classes)} '
          f'classes, {model.vocabulary.num_things} things), exporting {args.format} at '
          f'{args.size[0]}x{args.size[1]} ({"static" if args.static else "dynamic H, W"})')
    try:
        summary = exporting.export(model, args.format, args.size, args.out,
                                   dynamic=not args.static, opset=args.opset)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(f'wrote {args.out} ({summary["bytes"] / 1e6:.1f} MB) and {summary["metadata_path"]}')
    if not args.check:
        return 0
    tolerance = exporting.TOLERANCES[args.format]
    sizes = exporting.check_sizes(summary['size'], summary['divisor'])
    if args.static:
        sizes = sizes[:1]
    runner = exporting.ProgramRunner(args.format, args.out)
    rows = exporting.compare(summary['module'], runner, sizes, tolerance)
    if not print_check(rows, tolerance):
        print('check FAILED: the exported program differs from eager PyTorch', file=sys.stderr)
        return 1
    print('check passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
