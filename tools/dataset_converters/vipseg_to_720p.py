"""Make the 720p copy of VIPSeg that the VIPSeg configs read (as VIPSeg's change2_720p.py).

    python tools/dataset_converters/vipseg_to_720p.py --src VIPSeg --dst data/VIPSeg

Every frame of ``<src>/imgs/<video>/`` is resized to 720 pixels high keeping the aspect ratio
(width int(720 * w / h); bilinear) and every code PNG of ``<src>/panomasks/<video>/`` likewise
with nearest-neighbour sampling (the codes stay valid). The category file and the split lists
(``panoVIPSeg_categories.json``, ``train.txt``, ``val.txt``, ``test.txt``) are copied when
present. Frames already written are skipped, so an interrupted run can be restarted.
"""
import argparse
import shutil
import sys
from pathlib import Path
from typing import List, Optional

import cv2

HEIGHT = 720
COPIED = ('panoVIPSeg_categories.json', 'train.txt', 'val.txt', 'test.txt')


def resized_size(height: int, width: int) -> tuple:
    """(width, height) of the 720p frame."""
    return int(HEIGHT * width / height), HEIGHT


def convert_file(source: Path, target: Path, nearest: bool) -> None:
    image = cv2.imread(str(source), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot read {source}')
    size = resized_size(*image.shape[:2])
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    target.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(target), cv2.resize(image, size, interpolation=interpolation)):
        raise OSError(f'cannot write {target}')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', required=True, help='original VIPSeg folder')
    parser.add_argument('--dst', required=True, help='output folder (the configs read '
                        'data/VIPSeg)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    src, dst = Path(args.src), Path(args.dst)
    folders = [(src / 'imgs', dst / 'imgs', '.jpg', False),
               (src / 'panomasks', dst / 'panomasks', '.png', True)]
    for folder, _, _, _ in folders:
        if not folder.is_dir():
            print(f'error: {folder} not found (expected the VIPSeg layout imgs/, panomasks/)',
                  file=sys.stderr)
            return 1
    for name in COPIED:
        if (src / name).is_file():
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, dst / name)
    for source_root, target_root, suffix, nearest in folders:
        files = sorted(source_root.glob(f'*/*{suffix}'))
        for index, source in enumerate(files, start=1):
            target = target_root / source.relative_to(source_root)
            if not target.exists():
                convert_file(source, target, nearest)
            if index % 1000 == 0 or index == len(files):
                print(f'{source_root.name}: {index}/{len(files)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
