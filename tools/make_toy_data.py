"""Generate the toy COCO-panoptic dataset used by the README's main job.

    python tools/make_toy_data.py [--out data/toy_coco] [--num-train 200] [--num-val 40]
                                  [--seed 0] [--overwrite]

Writes annotations/panoptic_{train,val}2017.json, the PNG folders
annotations/panoptic_{train,val}2017/ and the images {train,val}2017/*.jpg.
"""
import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/toy_coco', help='output dataset folder')
    parser.add_argument('--num-train', type=int, default=200, help='training images')
    parser.add_argument('--num-val', type=int, default=40, help='validation images')
    parser.add_argument('--seed', type=int, default=0, help='random seed (output is deterministic)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a toy dataset already in --out')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    # Imported here so that --help answers without loading the package.
    from seg.datasets.toy_data import generate_toy_dataset
    try:
        counts = generate_toy_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                                      seed=args.seed, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'toy dataset ready in {args.out}: {counts["train"]} train / {counts["val"]} val '
          'images')
    return 0


if __name__ == '__main__':
    sys.exit(main())
