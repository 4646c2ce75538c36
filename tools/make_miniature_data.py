"""Write miniature copies of every dataset the paper's configs read (smoke tests).

    python tools/make_miniature_data.py --out /tmp/mini [--datasets coco ade ...] [--seed 0]
                                        [--overwrite]

--out plays the role of the repository's data/ folder: it receives coco/, ade/, cityscapes/,
youtube_vis_2019/, youtube_vis_2021/, VIPSeg/, DAVIS/ and objects365/, each in the real layout
(DATASET.md) with the real category list, a few tiny images or 3-4-frame videos per split
(see seg/testing/miniature/). A non-empty --out is refused unless --overwrite, which first
removes the folders of the chosen datasets in it.
"""
import argparse
import shutil
import sys
from pathlib import Path
from typing import List, Optional

# Kept equal to seg.testing.miniature.MINIATURE_DATASETS (a test checks); listed here so that
# --help answers without importing the package.
DATASET_KEYS = ('coco', 'ade', 'cityscapes', 'youtube_vis_2019', 'youtube_vis_2021', 'vipseg',
                'davis', 'objects365')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output folder (the role of data/)')
    parser.add_argument('--datasets', nargs='+', choices=DATASET_KEYS, default=list(DATASET_KEYS),
                        help='datasets to write (default: all)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (output is deterministic)')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty --out, replacing the chosen datasets')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f'error: {out} exists and is not a folder', file=sys.stderr)
        return 1
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            print(f'error: {out} is not empty; pass --overwrite to replace the miniature '
                  'datasets in it', file=sys.stderr)
            return 1
    # Imported here so that --help and the refusals answer without loading the package.
    from seg.testing.miniature import DATASET_FOLDERS, write_miniature_data
    if args.overwrite:
        for key in args.datasets:
            folder = out / DATASET_FOLDERS[key]
            if folder.exists():
                print(f'removing {folder}')
                shutil.rmtree(folder)
    counts = write_miniature_data(out, datasets=args.datasets, seed=args.seed, log=print)
    for key, splits in counts.items():
        print(f'{key}: ' + ', '.join(f'{count} {split}' for split, count in splits.items()))
    print(f'miniature data ready in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
