"""Convert official YouTube-VIS annotations to the COCO-video json of ``YouTubeVISDataset``.

    python tools/dataset_converters/vis_to_coco.py -i data/youtube_vis_2019 --version 2019
                                                   [-o OUT_DIR]

Reads ``<input>/{train,valid,test}.json`` (2019) or ``<input>/{train,valid,test}/
instances.json`` (2021), whichever exist, and writes
``<out>/youtube_vis_<version>_<split>.json`` (default out: ``<input>/annotations``).
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path
from typing import List, Optional

SPLITS = ('train', 'valid', 'test')


def official_path(root: Path, version: str, split: str) -> Path:
    return root / f'{split}.json' if version == '2019' else root / split / 'instances.json'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-i', '--input', required=True, help='YouTube-VIS root folder')
    parser.add_argument('-o', '--output', help='output folder (default: <input>/annotations)')
    parser.add_argument('--version', required=True, choices=['2019', '2021'])
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from seg.datasets.youtube_vis import official_to_coco_video
    root = Path(args.input)
    out_dir = Path(args.output) if args.output else root / 'annotations'
    sources = {split: official_path(root, args.version, split) for split in SPLITS}
    present = {split: path for split, path in sources.items() if path.is_file()}
    if not present:
        print(f'error: none of {[str(p) for p in sources.values()]} exists', file=sys.stderr)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, path in present.items():
        try:
            with open(path, encoding='utf-8') as handle:
                official = json.load(handle)
            converted = official_to_coco_video(official, str(path))
        except (KeyError, ValueError) as error:  # json errors are ValueErrors
            print(f'error: {error}', file=sys.stderr)
            return 1
        target = out_dir / f'youtube_vis_{args.version}_{split}.json'
        target.write_text(json.dumps(converted), encoding='utf-8')
        print(f'{split}: {len(converted["videos"])} videos, {len(converted["images"])} frames, '
              f'{len(converted["annotations"])} frame annotations -> {osp.relpath(target)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
