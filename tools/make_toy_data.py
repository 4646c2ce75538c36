"""Generate the toy datasets: COCO-panoptic images (the README's main job) or videos.

    python tools/make_toy_data.py [--out data/toy_coco] [--num-train 200] [--num-val 40]
                                  [--seed 0] [--overwrite]
    python tools/make_toy_data.py --video [--out data/toy_video] [--num-train 48]
                                  [--num-val 8] [--seed 0] [--overwrite]

Images: writes annotations/panoptic_{train,val}2017.json, the PNG folders
annotations/panoptic_{train,val}2017/ and the images {train,val}2017/*.jpg.
Videos (--video): moving, occluding, appearing and disappearing shapes written in the VIPSeg
(vipseg/), YouTube-VIS (ytvis/) and DAVIS (davis/) layouts (see seg/testing/toy_video_data.py).
"""
import argparse
import sys
from typing import List, Optional

IMAGE_DEFAULTS = dict(out='data/toy_coco', num_train=200, num_val=40)
VIDEO_DEFAULTS = dict(out='data/toy_video', num_train=48, num_val=8)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--video', action='store_true',
                        help='generate the toy video dataset instead of the image one')
    parser.add_argument('--out', help='output dataset folder (default: data/toy_coco, with '
                        '--video data/toy_video)')
    parser.add_argument('--num-train', type=int, help='training images (default 200) or '
                        'videos (default 48)')
    parser.add_argument('--num-val', type=int, help='validation images (default 40) or videos '
                        '(default 8)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (output is deterministic)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a toy dataset already in --out')
    args = parser.parse_args(argv)
    for key, value in (VIDEO_DEFAULTS if args.video else IMAGE_DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    # Imported here so that --help answers without loading the package.
    if args.video:
        from seg.testing.toy_video_data import generate_toy_video_dataset as generate
        unit = 'videos'
    else:
        from seg.testing.toy_data import generate_toy_dataset as generate
        unit = 'images'
    try:
        counts = generate(args.out, num_train=args.num_train, num_val=args.num_val,
                          seed=args.seed, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'toy dataset ready in {args.out}: {counts["train"]} train / {counts["val"]} val '
          f'{unit}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
