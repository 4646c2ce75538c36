"""Speed of the PQ, VPQ and STQ evaluators on generated panoptic predictions.

    python -m seg.testing.evaluation_benchmark [--images 50] [--segments 10 50 200 1000]
        [--pq-baseline] [--videos 0] [--frames 8] [--video-segments 50] [--nproc 1 2]

For each segment count, GT images (640x480) are random Voronoi partitions (a quarter of the
segments are stuff, 5% of the pixels void, one crowd segment) and predictions are the GT
shifted by a few pixels with fresh ids, a few wrong classes and some unlabelled pixels.
Reported: `in-memory` = `pq_image_stats` on decoded id maps, `files` = `evaluate_coco_panoptic`
on PNG + json files (PNG decoding included), both single process, in images per second.
`--pq-baseline` also times `pq_compute_single_core_loop` (a per-segment loop as panopticapi
pq_compute_single_core, written here as the baseline) on the same files and raises if its
TP / FP / FN or PQ differ from ours.
Videos (`--videos N`): VIPSeg-format sets whose segments drift across the frames; VPQ
(the windows 1 2 4 6 8 that fit in --frames) and STQ are timed from the files with every
`--nproc` value (raises if a process count changes a result).
"""
import argparse
import json
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image
from scipy.spatial import cKDTree

from seg.evaluation.functional.panoptic_quality import (PanopticCategories, PQStat,
                                                       evaluate_coco_panoptic, pq_image_stats,
                                                       pq_summary)
from seg.evaluation.functional.video_panoptic import (VIPSEG_WINDOWS, evaluate_vipseg_stq,
                                                      evaluate_vipseg_vpq)
from seg.structures.panoptic_io import rgb_to_id, write_panoptic_png

HEIGHT, WIDTH = 480, 640
CATEGORIES = [{'id': i + 1, 'name': f'c{i + 1}', 'isthing': int(i < 80)} for i in range(133)]


def _voronoi(rng: np.random.Generator, num_segments: int, size: Tuple[int, int]) -> np.ndarray:
    height, width = size
    seeds = rng.uniform([0, 0], [height, width], size=(num_segments, 2))
    grid = np.stack(np.meshgrid(np.arange(height), np.arange(width), indexing='ij'), -1)
    return cKDTree(seeds).query(grid.reshape(-1, 2))[1].reshape(height, width)


def _draw_segments(rng: np.random.Generator, num_segments: int):
    """GT ids and categories, predicted ids and categories (10% wrong) of the regions."""
    gt_ids = rng.choice(np.arange(1, 2 ** 24), num_segments, replace=False)
    categories = np.where(np.arange(num_segments) < num_segments * 3 // 4,
                          rng.integers(1, 81, num_segments), rng.integers(81, 134, num_segments))
    pred_ids = rng.choice(np.arange(1, 2 ** 24), num_segments, replace=False)
    wrong = rng.random(num_segments) < 0.1
    pred_categories = np.where(wrong, rng.integers(1, 134, num_segments), categories)
    return gt_ids, categories, pred_ids, pred_categories


def _frame(rng, region, drawn, shift):
    """(gt_ids, gt_segments, pred_ids, pred_segments) of one frame of a region map."""
    gt_ids, categories, pred_ids, pred_categories = drawn
    num_segments = gt_ids.size
    gt = gt_ids[region]
    gt[rng.random(gt.shape) < 0.05] = 0
    area = np.bincount(region[gt != 0], minlength=num_segments)
    gt_segments = [{'id': int(i), 'category_id': int(c), 'iscrowd': int(k == 0),
                    'area': int(a)} for k, (i, c, a) in enumerate(zip(gt_ids, categories, area))]
    shifted = np.roll(region, shift, (0, 1))
    pred = pred_ids[shifted]
    pred[rng.random(pred.shape) < 0.02] = 0
    present = np.bincount(shifted[pred != 0], minlength=num_segments) > 0
    pred_segments = [{'id': int(i), 'category_id': int(c)}
                     for i, c, p in zip(pred_ids, pred_categories, present) if p]
    return gt, gt_segments, pred, pred_segments


def _jitter(rng) -> Tuple[int, int]:
    return int(rng.integers(-4, 5)), int(rng.integers(-4, 5))


def make_image(rng: np.random.Generator, num_segments: int,
               size: Tuple[int, int] = (HEIGHT, WIDTH)):
    """(gt_ids, gt_segments, pred_ids, pred_segments) of one generated image."""
    region = _voronoi(rng, num_segments, size)
    return _frame(rng, region, _draw_segments(rng, num_segments), _jitter(rng))


def make_video(rng: np.random.Generator, num_frames: int, num_segments: int,
               size: Tuple[int, int] = (HEIGHT, WIDTH)) -> List[tuple]:
    """Frames of one generated video: the regions drift by (1, 2) pixels a frame and keep
    their GT / predicted ids and categories."""
    region = _voronoi(rng, num_segments, size)
    drawn = _draw_segments(rng, num_segments)
    jitter = _jitter(rng)
    return [_frame(rng, np.roll(region, (t, 2 * t), (0, 1)), drawn, jitter)
            for t in range(num_frames)]


def write_panoptic_set(root: Path, images: Sequence[tuple]) -> Dict[str, Path]:
    """COCO-panoptic files (gt.json, gt/, pred.json, pred/) of generated images."""
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
    return dict(gt_json=root / 'gt.json', gt_dir=root / 'gt', pred_json=root / 'pred.json',
                pred_dir=root / 'pred')


def write_vipseg_set(root: Path, num_videos: int, num_frames: int, num_segments: int,
                     size: Tuple[int, int] = (HEIGHT, WIDTH), seed: int = 0) -> Dict[str, Path]:
    """VIPSeg-format files (gt.json, gt/<video>/, pred.json, pred/<video>/) of generated
    videos; returns the four paths `tools/evaluate.py vipseg-*` takes."""
    rng = np.random.default_rng(seed)
    gt_json = {'categories': CATEGORIES, 'videos': [], 'annotations': []}
    pred_json = {'annotations': []}
    for index in range(num_videos):
        video_id = f'video_{index:04d}'
        names, gt_frames, pred_frames = [], [], []
        for t, (gt, gt_segments, pred, pred_segments) in enumerate(
                make_video(rng, num_frames, num_segments, size)):
            name = f'{t:05d}.png'
            write_panoptic_png(root / 'gt' / video_id / name, gt)
            write_panoptic_png(root / 'pred' / video_id / name, pred)
            names.append(name)
            gt_frames.append({'file_name': name, 'segments_info': gt_segments})
            pred_frames.append({'file_name': name, 'segments_info': pred_segments})
        gt_json['videos'].append({'video_id': video_id,
                                  'images': [{'file_name': name} for name in names]})
        gt_json['annotations'].append({'video_id': video_id, 'annotations': gt_frames})
        pred_json['annotations'].append({'video_id': video_id, 'annotations': pred_frames})
    (root / 'gt.json').write_text(json.dumps(gt_json))
    (root / 'pred.json').write_text(json.dumps(pred_json))
    return dict(gt_json=root / 'gt.json', gt_dir=root / 'gt', pred_json=root / 'pred.json',
                pred_dir=root / 'pred')


def pq_compute_single_core_loop(gt_json: Path, gt_dir: Path, pred_json: Path,
                                pred_dir: Path) -> PQStat:
    """Baseline: a per-segment loop as panopticapi pq_compute_single_core (its algorithm,
    written here from its published rules, not its code): per image one `np.unique` over
    GT * 2^24 + prediction ids, then Python loops over segment pairs and segments."""
    offset, void = 256 ** 3, 0
    gt = json.loads(Path(gt_json).read_text())
    pred_by_image = {a['image_id']: a for a in json.loads(Path(pred_json).read_text())
                     ['annotations']}
    position = {c['id']: i for i, c in enumerate(gt['categories'])}
    stat = PQStat.zeros(len(position))
    for gt_ann in gt['annotations']:
        pred_ann = pred_by_image[gt_ann['image_id']]
        pan_gt = np.asarray(Image.open(Path(gt_dir) / gt_ann['file_name']), np.uint32)
        pan_pred = np.asarray(Image.open(Path(pred_dir) / pred_ann['file_name']), np.uint32)
        pan_gt, pan_pred = rgb_to_id(pan_gt), rgb_to_id(pan_pred)
        gt_segms = {s['id']: dict(s) for s in gt_ann['segments_info']}
        pred_segms = {s['id']: dict(s) for s in pred_ann['segments_info']}
        labels, areas = np.unique(pan_pred, return_counts=True)
        for label, area in zip(labels.tolist(), areas.tolist()):
            if label == void:
                continue
            if label not in pred_segms:
                raise KeyError(f'segment {label} of {pred_ann["file_name"]} is not in the json')
            pred_segms[label]['area'] = area
        pairs, intersections = np.unique(pan_gt.astype(np.uint64) * offset
                                         + pan_pred.astype(np.uint64), return_counts=True)
        gt_pred_map = {(int(p // offset), int(p % offset)): int(i)
                       for p, i in zip(pairs, intersections)}
        gt_matched, pred_matched = set(), set()
        for (gt_label, pred_label), intersection in gt_pred_map.items():
            if gt_label not in gt_segms or pred_label not in pred_segms:
                continue
            gt_segm, pred_segm = gt_segms[gt_label], pred_segms[pred_label]
            if gt_segm['iscrowd'] == 1 or gt_segm['category_id'] != pred_segm['category_id']:
                continue
            union = (pred_segm['area'] + gt_segm['area'] - intersection
                     - gt_pred_map.get((void, pred_label), 0))
            iou = intersection / union
            if iou > 0.5:
                category = position[gt_segm['category_id']]
                stat.tp[category] += 1
                stat.iou[category] += iou
                gt_matched.add(gt_label)
                pred_matched.add(pred_label)
        crowd_by_category = {}
        for gt_label, gt_segm in gt_segms.items():
            if gt_label in gt_matched:
                continue
            if gt_segm['iscrowd'] == 1:
                crowd_by_category[gt_segm['category_id']] = gt_label
                continue
            stat.fn[position[gt_segm['category_id']]] += 1
        for pred_label, pred_segm in pred_segms.items():
            if pred_label in pred_matched:
                continue
            ignored = gt_pred_map.get((void, pred_label), 0)
            if pred_segm['category_id'] in crowd_by_category:
                ignored += gt_pred_map.get(
                    (crowd_by_category[pred_segm['category_id']], pred_label), 0)
            if ignored / pred_segm['area'] > 0.5:
                continue
            stat.fp[position[pred_segm['category_id']]] += 1
    return stat


def _check_same_pq(baseline: PQStat, ours: dict, categories: PanopticCategories) -> None:
    expected = pq_summary(baseline, categories)
    for category_id, row in expected['per_class'].items():
        mine = ours['per_class'][category_id]
        if (row['tp'], row['fp'], row['fn']) != (mine['tp'], mine['fp'], mine['fn']):
            raise AssertionError(f'PQ baseline and evaluator differ for category {category_id}:'
                                 f' {row} vs {mine}')
    for name in ('All', 'Things', 'Stuff'):
        if abs(expected[name]['pq'] - ours[name]['pq']) > 1e-12:
            raise AssertionError(f'PQ {name}: baseline {expected[name]["pq"]} vs evaluator '
                                 f'{ours[name]["pq"]}')


def benchmark(num_images: int, num_segments: int, seed: int = 0,
              pq_baseline: bool = False) -> dict:
    """PQ evaluator images/s (in memory and from files; with the loop baseline if asked)."""
    rng = np.random.default_rng(seed)
    images = [make_image(rng, num_segments) for _ in range(num_images)]
    categories = PanopticCategories.from_coco(CATEGORIES)
    start = time.perf_counter()
    for gt, gt_segments, pred, pred_segments in images:
        pq_image_stats(gt, gt_segments, pred, pred_segments, categories)
    row = {'segments': num_segments, 'images': num_images,
           'in_memory_images_per_s': num_images / (time.perf_counter() - start)}
    with tempfile.TemporaryDirectory() as folder:
        files = write_panoptic_set(Path(folder), images)
        start = time.perf_counter()
        ours = evaluate_coco_panoptic(**files)
        row['files_images_per_s'] = num_images / (time.perf_counter() - start)
        if pq_baseline:
            start = time.perf_counter()
            baseline = pq_compute_single_core_loop(**files)
            row['baseline_loop_images_per_s'] = num_images / (time.perf_counter() - start)
            _check_same_pq(baseline, ours, categories)
            row['baseline_same_pq'] = True
    return row


def benchmark_video(num_videos: int, num_frames: int, num_segments: int,
                    nprocs: Sequence[int] = (1,), size: Tuple[int, int] = (HEIGHT, WIDTH),
                    seed: int = 0) -> List[dict]:
    """VPQ and STQ evaluation (from files, PNG decoding included) videos/s and frames/s for
    every process count; raises if a process count changes a result."""
    windows = [w for w in VIPSEG_WINDOWS if w <= num_frames]
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as folder:
        files = write_vipseg_set(Path(folder), num_videos, num_frames, num_segments, size, seed)
        evaluators = (('VPQ', partial(evaluate_vipseg_vpq, windows=windows)),
                      ('STQ', evaluate_vipseg_stq))
        for metric, evaluate in evaluators:
            for nproc in nprocs:
                start = time.perf_counter()
                result = evaluate(**files, nproc=nproc)
                elapsed = time.perf_counter() - start
                # repr: NaN-safe exact comparison of the nested result
                if repr(results.setdefault(metric, result)) != repr(result):
                    raise AssertionError(f'{metric} with nproc={nproc} differs from nproc='
                                         f'{nprocs[0]}')
                rows.append({'metric': metric, 'nproc': nproc, 'videos': num_videos,
                             'frames': num_frames, 'segments': num_segments,
                             'videos_per_s': num_videos / elapsed,
                             'frames_per_s': num_videos * num_frames / elapsed})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=50)
    parser.add_argument('--segments', type=int, nargs='+', default=[10, 50, 200, 1000])
    parser.add_argument('--pq-baseline', action='store_true')
    parser.add_argument('--videos', type=int, default=0)
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--video-segments', type=int, default=50)
    parser.add_argument('--nproc', type=int, nargs='+', default=[1, 2])
    args = parser.parse_args()
    print(f'{"segments":>9s} {"in-memory img/s":>16s} {"files img/s":>12s} '
          f'{"loop baseline img/s":>20s}')
    for count in args.segments:
        row = benchmark(args.images, count, pq_baseline=args.pq_baseline)
        baseline = row.get('baseline_loop_images_per_s', float('nan'))
        print(f'{count:9d} {row["in_memory_images_per_s"]:16.1f} '
              f'{row["files_images_per_s"]:12.1f} {baseline:20.1f}', flush=True)
    if args.videos:
        for row in benchmark_video(args.videos, args.frames, args.video_segments, args.nproc):
            print(f'{row["metric"]} nproc={row["nproc"]}: {row["videos_per_s"]:.2f} videos/s, '
                  f'{row["frames_per_s"]:.1f} frames/s', flush=True)


if __name__ == '__main__':
    main()
