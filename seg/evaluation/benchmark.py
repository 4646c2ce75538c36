"""Speed of the PQ evaluator on generated 640x480 panoptic predictions.

    python -m seg.evaluation.benchmark [--images 50] [--segments 10 50 200 1000]

For each segment count, GT images are random Voronoi partitions (a quarter of the segments
are stuff, 5% of the pixels void, one crowd segment) and predictions are the GT shifted by a
few pixels with fresh ids, a few wrong classes and some unlabelled pixels. Reported:
`in-memory` = `pq_image_stats` on decoded id maps, `files` = `evaluate_coco_panoptic` on
PNG + json files (PNG decoding included), both single process, in images per second.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from .functional.formats import write_panoptic_png
from .functional.panoptic_quality import (PanopticCategories, evaluate_coco_panoptic,
                                          pq_image_stats)

HEIGHT, WIDTH = 480, 640
CATEGORIES = [{'id': i + 1, 'name': f'c{i + 1}', 'isthing': int(i < 80)} for i in range(133)]


def _voronoi(rng: np.random.Generator, num_segments: int) -> np.ndarray:
    seeds = rng.uniform([0, 0], [HEIGHT, WIDTH], size=(num_segments, 2))
    grid = np.stack(np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing='ij'), -1)
    return cKDTree(seeds).query(grid.reshape(-1, 2))[1].reshape(HEIGHT, WIDTH)


def make_image(rng: np.random.Generator, num_segments: int):
    """(gt_ids, gt_segments, pred_ids, pred_segments) of one generated image."""
    region = _voronoi(rng, num_segments)
    gt_ids = rng.choice(np.arange(1, 2 ** 24), num_segments, replace=False)
    categories = np.where(np.arange(num_segments) < num_segments * 3 // 4,
                          rng.integers(1, 81, num_segments), rng.integers(81, 134, num_segments))
    gt = gt_ids[region]
    gt[rng.random(gt.shape) < 0.05] = 0
    area = np.bincount(region[gt != 0], minlength=num_segments)
    gt_segments = [{'id': int(i), 'category_id': int(c), 'iscrowd': int(k == 0),
                    'area': int(a)} for k, (i, c, a) in enumerate(zip(gt_ids, categories, area))]
    shifted = np.roll(region, (int(rng.integers(-4, 5)), int(rng.integers(-4, 5))), (0, 1))
    pred_ids = rng.choice(np.arange(1, 2 ** 24), num_segments, replace=False)
    pred = pred_ids[shifted]
    pred[rng.random(pred.shape) < 0.02] = 0
    wrong = rng.random(num_segments) < 0.1
    pred_categories = np.where(wrong, rng.integers(1, 134, num_segments), categories)
    present = np.bincount(shifted[pred != 0], minlength=num_segments) > 0
    pred_segments = [{'id': int(i), 'category_id': int(c)}
                     for i, c, p in zip(pred_ids, pred_categories, present) if p]
    return gt, gt_segments, pred, pred_segments


def benchmark(num_images: int, num_segments: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    images = [make_image(rng, num_segments) for _ in range(num_images)]
    categories = PanopticCategories.from_coco(CATEGORIES)
    start = time.perf_counter()
    for gt, gt_segments, pred, pred_segments in images:
        pq_image_stats(gt, gt_segments, pred, pred_segments, categories)
    in_memory = num_images / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        gt_json = {'categories': CATEGORIES, 'annotations': []}
        pred_json = {'annotations': []}
        for image_id, (gt, gt_segments, pred, pred_segments) in enumerate(images):
            name = f'{image_id:012d}.png'
            write_panoptic_png(root / 'gt' / name, gt)
            write_panoptic_png(root / 'pred' / name, pred)
            gt_json['annotations'].append({'image_id': image_id, 'file_name': name,
                                           'segments_info': gt_segments})
            pred_json['annotations'].append({'image_id': image_id, 'file_name': name,
                                             'segments_info': pred_segments})
        (root / 'gt.json').write_text(json.dumps(gt_json))
        (root / 'pred.json').write_text(json.dumps(pred_json))
        start = time.perf_counter()
        evaluate_coco_panoptic(root / 'gt.json', root / 'gt', root / 'pred.json', root / 'pred')
        files = num_images / (time.perf_counter() - start)
    return {'segments': num_segments, 'in_memory_images_per_s': in_memory,
            'files_images_per_s': files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=50)
    parser.add_argument('--segments', type=int, nargs='+', default=[10, 50, 200, 1000])
    args = parser.parse_args()
    print(f'{"segments":>9s} {"in-memory img/s":>16s} {"files img/s":>12s}')
    for count in args.segments:
        row = benchmark(args.images, count)
        print(f'{count:9d} {row["in_memory_images_per_s"]:16.1f} '
              f'{row["files_images_per_s"]:12.1f}', flush=True)


if __name__ == '__main__':
    main()
