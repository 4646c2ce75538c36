"""YouTube-VIS video instance AP: the YouTube-VIS cocoapi fork (`ytvoseval`) on pycocotools.

Differences from image COCO AP, all reproduced here:
* IoU is spatio-temporal: sum over frames of |d & g| / sum over frames of |d | g|, a missing
  (`null`) frame counting as an empty mask; 0 when the union is empty;
* object area = mean of the non-zero per-frame areas (`areas` of the GT json, mask areas of
  results); area ranges small < 128^2 <= medium < 256^2 <= large;
* maxDets 1 / 10 / 100 per video by default.
Videos play the role of images inside pycocotools' `COCOeval` (matching, accumulation and
summary are pycocotools' own).
"""
from collections import defaultdict
from typing import Iterable, List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval

from seg.utils.json_files import read_json
from .coco_ap import DEFAULT_MAX_DETS, check_max_dets, quiet_coco, summarize_cocoeval
from .formats import PathLike, require_key
from .input_checks import check_results_list

YTVIS_AREA_RANGES = [[0 ** 2, 1e5 ** 2], [0 ** 2, 128 ** 2], [128 ** 2, 256 ** 2],
                     [256 ** 2, 1e5 ** 2]]


def _frame_rle(segmentation, height: int, width: int, where: str):
    """One frame's segmentation (None, polygon list, RLE) as a compressed RLE or None."""
    if not segmentation:
        return None
    if isinstance(segmentation, list):
        return mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    if isinstance(segmentation, dict) and 'counts' in segmentation:
        if list(segmentation.get('size', [])) != [height, width]:
            raise ValueError(f'{where}: mask size {segmentation.get("size")} differs from the '
                             f'video size {[height, width]}')
        if isinstance(segmentation['counts'], list):
            return mask_utils.frPyObjects(segmentation, height, width)
        return segmentation
    raise ValueError(f'{where}: unsupported segmentation {type(segmentation).__name__}')


def _average_area(areas: Sequence) -> float:
    """ytvos' `avg_area`: mean of the truthy per-frame areas, 0 when there is none."""
    present = [a for a in areas if a]
    return float(np.mean(present)) if present else 0.0


def _track_entry(annotation: dict, video: dict, where: str, is_gt: bool) -> dict:
    segmentations = require_key(annotation, 'segmentations', where)
    if len(segmentations) != video['length']:
        raise ValueError(f'{where}: {len(segmentations)} frames for video '
                         f'{video["id"]} of {video["length"]} frames')
    rles = [_frame_rle(s, video['height'], video['width'], f'{where}, frame {t}')
            for t, s in enumerate(segmentations)]
    if is_gt:
        areas = require_key(annotation, 'areas', where)
    else:
        areas = [None if rle is None else float(mask_utils.area(rle)) for rle in rles]
    entry = {'image_id': annotation['video_id'], 'category_id': annotation['category_id'],
             'rles': rles, 'area': _average_area(areas),
             'iscrowd': int(annotation.get('iscrowd', 0))}
    if not is_gt:
        entry['score'] = float(require_key(annotation, 'score', where))
    return entry


def spatio_temporal_iou(dt_tracks: Sequence[List], gt_tracks: Sequence[List]) -> np.ndarray:
    """(D, G) IoU of per-frame RLE tracks (None = absent frame) summed over frames."""
    num_dt, num_gt = len(dt_tracks), len(gt_tracks)
    intersection = np.zeros((num_dt, num_gt), np.int64)
    dt_area = np.zeros(num_dt, np.int64)
    gt_area = np.zeros(num_gt, np.int64)
    num_frames = len(dt_tracks[0]) if num_dt else 0
    for frame in range(num_frames):
        dt_rows = [i for i in range(num_dt) if dt_tracks[i][frame] is not None]
        gt_cols = [j for j in range(num_gt) if gt_tracks[j][frame] is not None]
        if not dt_rows and not gt_cols:
            continue
        dt_rles = [dt_tracks[i][frame] for i in dt_rows]
        gt_rles = [gt_tracks[j][frame] for j in gt_cols]
        if dt_rows:
            dt_area[dt_rows] += mask_utils.area(dt_rles).astype(np.int64)
        if gt_cols:
            gt_area[gt_cols] += mask_utils.area(gt_rles).astype(np.int64)
        if dt_rows and gt_cols:
            dt_masks = mask_utils.decode(dt_rles).reshape(-1, len(dt_rows)).astype(np.float32)
            gt_masks = mask_utils.decode(gt_rles).reshape(-1, len(gt_cols)).astype(np.float32)
            # float32 sums of 0/1 products are exact below 2^24 pixels per frame.
            overlap = np.rint(dt_masks.T @ gt_masks).astype(np.int64)
            intersection[np.ix_(dt_rows, gt_cols)] += overlap
    union = dt_area[:, None] + gt_area[None, :] - intersection
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, intersection / np.maximum(union, 1), 0.0)


class VideoCOCOeval(COCOeval):
    """pycocotools' COCOeval with videos as images and ytvoseval's IoU, areas and ranges."""

    def __init__(self, gt_coco, dt_coco, max_dets: Sequence[int] = DEFAULT_MAX_DETS):
        super().__init__(gt_coco, dt_coco, iouType='segm')
        self.params.maxDets = check_max_dets(max_dets)
        self.params.areaRng = [list(r) for r in YTVIS_AREA_RANGES]

    def _prepare(self):
        params = self.params
        gts = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(imgIds=params.imgIds,
                                                         catIds=params.catIds))
        dts = self.cocoDt.loadAnns(self.cocoDt.getAnnIds(imgIds=params.imgIds,
                                                         catIds=params.catIds))
        for gt in gts:
            gt['ignore'] = 'iscrowd' in gt and gt['iscrowd']
        self._gts, self._dts = defaultdict(list), defaultdict(list)
        for gt in gts:
            self._gts[gt['image_id'], gt['category_id']].append(gt)
        for dt in dts:
            self._dts[dt['image_id'], dt['category_id']].append(dt)
        self.evalImgs = defaultdict(list)
        self.eval = {}

    def computeIoU(self, imgId, catId):  # noqa: N802,N803 - pycocotools' names
        gt = self._gts[imgId, catId]
        dt = self._dts[imgId, catId]
        if len(gt) == 0 and len(dt) == 0:
            return []
        order = np.argsort([-d['score'] for d in dt], kind='mergesort')
        dt = [dt[i] for i in order][:self.params.maxDets[-1]]
        return spatio_temporal_iou([d['rles'] for d in dt], [g['rles'] for g in gt])


def video_gt_coco(dataset: dict, where: str):
    """A COCO object whose images are the videos of a YouTube-VIS GT dict."""
    videos = {}
    for video in require_key(dataset, 'videos', where):
        length = video.get('length', len(video.get('file_names', [])))
        videos[video['id']] = {'id': video['id'], 'height': video['height'],
                               'width': video['width'], 'length': length}
    annotations = []
    for number, annotation in enumerate(require_key(dataset, 'annotations', where)):
        entry = f'{where}, annotation {annotation.get("id", number)}'
        video_id = require_key(annotation, 'video_id', entry)
        if video_id not in videos:
            raise KeyError(f'{entry}: unknown video_id {video_id}')
        track = _track_entry(annotation, videos[video_id], entry, is_gt=True)
        track['id'] = annotation.get('id', number + 1)
        annotations.append(track)
    return quiet_coco({'images': list(videos.values()), 'annotations': annotations,
                       'categories': list(require_key(dataset, 'categories', where))})


def load_video_results(gt_coco, results: Sequence[dict], where: str):
    """ytvos' `loadRes` for track results, with checks naming the bad entry."""
    annotations = []
    for number, result in enumerate(results):
        entry = f'{where}, result #{number}'
        video_id = require_key(result, 'video_id', entry)
        category_id = require_key(result, 'category_id', entry)
        if video_id not in gt_coco.imgs:
            raise KeyError(f'{entry}: video_id {video_id} is not in the ground truth')
        if category_id not in gt_coco.cats:
            raise KeyError(f'{entry}: unknown category_id {category_id}')
        track = _track_entry(result, gt_coco.imgs[video_id], entry, is_gt=False)
        track['id'] = number + 1
        annotations.append(track)
    return quiet_coco({'images': list(gt_coco.dataset['images']), 'annotations': annotations,
                       'categories': list(gt_coco.dataset['categories'])})


def youtube_vis_ap(gt_coco, results: Sequence[dict], max_dets: Sequence[int] = DEFAULT_MAX_DETS,
                   video_ids: Optional[Iterable[int]] = None, where: str = 'results') -> dict:
    """YouTube-VIS AP of track results; `{'stats': {12 keys}, 'per_category': {...}}`."""
    evaluator = VideoCOCOeval(gt_coco, load_video_results(gt_coco, results, where), max_dets)
    if video_ids is not None:
        evaluator.params.imgIds = sorted(set(video_ids))
    return summarize_cocoeval(evaluator)


def evaluate_youtube_vis(gt_json: PathLike, pred_json: PathLike,
                         max_dets: Sequence[int] = DEFAULT_MAX_DETS) -> dict:
    """YouTube-VIS AP of a results json (list of tracks) against a GT json."""
    results = read_json(pred_json)
    if not isinstance(results, list):
        raise ValueError(f'{pred_json}: expected a list of track results')
    gt = read_json(gt_json)
    check_results_list(gt, results, gt_json, pred_json, 'videos', 'video_id')
    gt_coco = video_gt_coco(gt, str(gt_json))
    return youtube_vis_ap(gt_coco, results, max_dets, where=str(pred_json))
