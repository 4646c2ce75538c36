"""Segment images with an OMG-Seg model and write overlays (PNG); runs on the CPU.

    python tools/demo_image.py CONFIG CHECKPOINT IMAGE [IMAGE ...] --out-dir DIR
        [--task panoptic|instance|semantic|all] [--vocabulary NAME [NAME ...]]
        [--stuff NAME [NAME ...]] [--vocabulary-file FILE] [--points X,Y ...]
        [--boxes X1,Y1,X2,Y2 ...] [--score-thr S] [--device DEVICE]

IMAGE: image files or folders of images. CHECKPOINT: a converted checkpoint
(tools/convert_checkpoint.py), a published OMG-Seg file (converted on the fly) or one written
by tools/train.py. Writes DIR/<image name>_<task>.png per image and task (and
DIR/<image name>_prompts.png with --points / --boxes), each with a legend. Any image file
OpenCV decodes (EXIF orientation applied; greyscale, palette, 16-bit and RGBA images accepted);
images over seg.apis.inputs.MAX_IMAGE_PIXELS (25 MP, env OMGSEG_MAX_IMAGE_PIXELS) are refused.
An image that cannot be read is reported on one line and skipped (exit status 2).
"""
import argparse
import sys
from pathlib import Path
from typing import List

from seg.utils.command_line import run_reporting_input_errors

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--out-dir', required=True, help='folder for the overlays')
    parser.add_argument('--task', default='panoptic',
                        choices=['panoptic', 'instance', 'semantic', 'all'])
    parser.add_argument('--vocabulary', nargs='+', help='thing class names replacing the '
                        "config's vocabulary (synonyms: 'person,man')")
    parser.add_argument('--stuff', nargs='+', default=[], help='stuff class names')
    parser.add_argument('--vocabulary-file', help='names file (.txt / .json, see '
                        'seg/vocab/runtime_vocabulary.py)')
    parser.add_argument('--points', nargs='+', default=[], help='click prompts X,Y')
    parser.add_argument('--boxes', nargs='+', default=[], help='box prompts X1,Y1,X2,Y2')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='instances below this score are not drawn')
    parser.add_argument('--device', default='cpu', help='cpu (default), cuda, cuda:1...')
    return parser.parse_args(argv)


def collect_images(entries: List[str]) -> List[Path]:
    images = []
    for entry in entries:
        path = Path(entry)
        if path.is_dir():
            images += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            images.append(path)
        else:
            raise FileNotFoundError(f'image or folder not found: {path}')
    if not images:
        raise ValueError(f'no images found in {entries}')
    return images


def parse_numbers(values: List[str], width: int, what: str) -> List[List[float]]:
    parsed = []
    for value in values:
        try:
            numbers = [float(v) for v in value.split(',')]
        except ValueError:
            numbers = []
        if len(numbers) != width:
            raise ValueError(f'{what} {value!r}: expected {width} comma-separated numbers')
        parsed.append(numbers)
    return parsed


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.vocabulary and args.vocabulary_file:
        raise ValueError('give --vocabulary or --vocabulary-file, not both')
    points = parse_numbers(args.points, 2, '--points')
    boxes = parse_numbers(args.boxes, 4, '--boxes')
    images = collect_images(args.images)

    from seg.apis import Predictor, draw_result, load_image, save_image
    predictor = Predictor.from_config(args.config, args.checkpoint, device=args.device)
    if args.vocabulary or args.vocabulary_file:
        predictor.set_vocabulary(args.vocabulary_file or args.vocabulary,
                                 stuff_classes=args.stuff if args.vocabulary else ())
    tasks = ['panoptic', 'instance', 'semantic'] if args.task == 'all' else [args.task]
    out_dir = Path(args.out_dir)
    failed = 0
    for path in images:
        try:
            image = load_image(path, 'BGR')[..., ::-1].copy()  # RGB for drawing
        except (ValueError, TypeError, OSError) as error:  # not an image, too large...
            print(f'error: {error}', file=sys.stderr)
            failed += 1
            continue
        result = predictor.predict(image, task=tasks)
        for task in tasks:
            options = dict(score_thr=args.score_thr) if task == 'instance' else {}
            target = save_image(out_dir / f'{path.stem}_{task}.png',
                                draw_result(image, result, task=task, **options))
            print(f'{path} -> {target}')
        if points or boxes:
            prompt_result = predictor.predict_prompts(points=points or None,
                                                      boxes=boxes or None)
            target = save_image(out_dir / f'{path.stem}_prompts.png',
                                draw_result(image, prompt_result))
            print(f'{path} -> {target}')
    if failed:
        print(f'{failed} of {len(images)} image(s) could not be read', file=sys.stderr)
        return 2
    return 0


def run(argv=None) -> int:
    """``main`` for the command line: a bad input gives one line on stderr and exit status 2
    (unreadable images are reported one by one, the others are still processed)."""
    return run_reporting_input_errors(main, argv)

if __name__ == '__main__':
    sys.exit(run())
