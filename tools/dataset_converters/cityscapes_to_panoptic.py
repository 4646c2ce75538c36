"""Convert Cityscapes ``gtFine`` instanceIds PNGs to COCO-panoptic json + PNGs.

    python tools/dataset_converters/cityscapes_to_panoptic.py --cityscapes-root data/cityscapes
        [--splits train val] [--out-dir DIR] [--use-label-id] [--jobs N]

Reads ``<root>/gtFine/<split>/<city>/*_gtFine_instanceIds.png`` and writes
``<out>/cityscapes_panoptic_<split>_trainId.json`` and the PNG folder
``<out>/cityscapes_panoptic_<split>_trainId/`` (default out: ``<root>/annotations``, where
``CityscapesPanopticDataset`` and the configs look). ``--use-label-id`` writes label-id
categories to ``cityscapes_panoptic_<split>.json`` instead (as the official tool without
``--use-train-id``). Rules: ``seg/datasets/cityscapes_conversion.py``.
"""
import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cityscapes-root', default='data/cityscapes',
                        help='folder holding gtFine/ (and leftImg8bit/)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'],
                        help='gtFine sub-folders to convert')
    parser.add_argument('--out-dir', help='output folder (default: <root>/annotations)')
    parser.add_argument('--use-label-id', action='store_true',
                        help='category ids = Cityscapes label ids instead of train ids')
    parser.add_argument('--jobs', type=int, default=1, help='worker processes')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from seg.datasets.cityscapes_conversion import convert_cityscapes_split
    for split in args.splits:
        try:
            convert_cityscapes_split(args.cityscapes_root, split, args.out_dir,
                                     use_train_id=not args.use_label_id, jobs=args.jobs)
        except (OSError, ValueError) as error:  # FileNotFoundError is an OSError
            print(f'error: {error}', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
