"""COCO mask AP through pycocotools' `COCOeval(iouType='segm')`, with configurable maxDets."""
import contextlib
import io
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from seg.structures.masks import masks_to_rles
from seg.utils.json_files import read_json
from .formats import PathLike, require_key
from .input_checks import check_results_list

DEFAULT_MAX_DETS = (1, 10, 100)


def stat_keys(max_dets: Sequence[int]) -> List[str]:
    """Names of COCOeval's 12 summary stats; the AR keys carry the maxDets values."""
    first, second, third = max_dets
    return ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl',
            f'AR{first}', f'AR{second}', f'AR{third}', 'ARs', 'ARm', 'ARl']


def check_max_dets(max_dets: Sequence[int]) -> List[int]:
    """COCOeval's summary reads exactly three increasing maxDets values."""
    values = [int(value) for value in max_dets]
    if len(values) != 3 or sorted(values) != values or values[0] < 1:
        raise ValueError(f'max_dets must be three increasing positive integers, got {max_dets}')
    return values


def quiet_coco(dataset: dict) -> COCO:
    """A pycocotools COCO object built from an in-memory dataset dict, without printing."""
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_mask_results(gt: COCO, results: Sequence[dict], where: str) -> COCO:
    """pycocotools' `loadRes` for segm results, plus checks that name the bad entry."""
    annotations = []
    for number, result in enumerate(results):
        entry = f'{where}, result #{number}'
        image_id = require_key(result, 'image_id', entry)
        category_id = require_key(result, 'category_id', entry)
        segmentation = require_key(result, 'segmentation', entry)
        score = require_key(result, 'score', entry)
        if image_id not in gt.imgs:
            raise KeyError(f'{entry}: image_id {image_id} is not in the ground truth')
        if category_id not in gt.cats:
            raise KeyError(f'{entry}: unknown category_id {category_id}')
        image = gt.imgs[image_id]
        size = list(require_key(segmentation, 'size', entry))
        if size != [image['height'], image['width']]:
            raise ValueError(f'{entry}: mask size {size} differs from the image size '
                             f'{[image["height"], image["width"]]}')
        if isinstance(segmentation['counts'], list):
            segmentation = mask_utils.frPyObjects(segmentation, *size)
        annotations.append({
            'image_id': image_id, 'category_id': category_id, 'segmentation': segmentation,
            'score': float(score), 'area': float(mask_utils.area(segmentation)),
            'bbox': list(mask_utils.toBbox(segmentation)), 'iscrowd': 0, 'id': number + 1})
    dataset = {'images': list(gt.dataset['images']),
               'categories': list(gt.dataset['categories']), 'annotations': annotations}
    return quiet_coco(dataset)


def summarize_cocoeval(evaluator: COCOeval) -> dict:
    """Run evaluate / accumulate / summarize quietly; 12 named stats + per-category AP."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    params = evaluator.params
    stats = dict(zip(stat_keys(params.maxDets), (float(s) for s in evaluator.stats)))
    precision = evaluator.eval['precision']  # (iouThrs, recThrs, categories, areas, maxDets)
    per_category = {}
    for position, category_id in enumerate(params.catIds):
        values = precision[:, :, position, 0, -1]
        at_50 = precision[0, :, position, 0, -1]
        per_category[int(category_id)] = {
            'AP': float(values[values > -1].mean()) if (values > -1).any() else -1.0,
            'AP50': float(at_50[at_50 > -1].mean()) if (at_50 > -1).any() else -1.0}
    return {'stats': stats, 'per_category': per_category}


def coco_mask_ap(gt: COCO, results: Sequence[dict], max_dets: Sequence[int] = DEFAULT_MAX_DETS,
                 image_ids: Optional[Iterable[int]] = None, where: str = 'results') -> dict:
    """Mask AP of COCO results (`image_id`, `category_id`, RLE `segmentation`, `score`).

    Returns `{'stats': {AP, AP50, ..., ARl}, 'per_category': {id: {AP, AP50}}}`; -1 marks
    values COCO leaves undefined. `image_ids` restricts the evaluation (all GT images if None).
    As in pycocotools' `summarize`, `AP` is read at maxDets=100 (-1 if 100 is not listed),
    the other AP stats and ARs/m/l at the last maxDets, AR<n> at each maxDets.
    """
    max_dets = check_max_dets(max_dets)
    detections = load_mask_results(gt, results, where)
    evaluator = COCOeval(gt, detections, iouType='segm')
    evaluator.params.maxDets = max_dets
    if image_ids is not None:
        evaluator.params.imgIds = sorted(set(image_ids))
    return summarize_cocoeval(evaluator)


def instances_from_panoptic(id_map: np.ndarray, segments: Sequence[dict],
                            thing_category_ids: Iterable[int], image_id: int) -> List[dict]:
    """COCO instance annotations (no `id`) of the thing segments of a panoptic GT image.

    Crowd segments keep `iscrowd`; area and bbox come from the panoptic json, as in COCO's
    instances files made from the panoptic ones.
    """
    things = set(int(c) for c in thing_category_ids)
    selected = [s for s in segments if int(s['category_id']) in things]
    masks = id_map[None] == np.array([s['id'] for s in selected], np.int64).reshape(-1, 1, 1)
    annotations = []
    for segment, rle in zip(selected, masks_to_rles(masks)):
        annotations.append({
            'image_id': image_id, 'category_id': int(segment['category_id']),
            'segmentation': rle, 'area': segment['area'], 'bbox': list(segment['bbox']),
            'iscrowd': int(segment.get('iscrowd', 0))})
    return annotations


def evaluate_coco_instance(gt_json: PathLike, pred_json: PathLike,
                           max_dets: Sequence[int] = DEFAULT_MAX_DETS) -> Dict[str, dict]:
    """Mask AP of a COCO results json against an instances json."""
    gt_dataset = read_json(gt_json)
    for key in ('images', 'annotations', 'categories'):
        require_key(gt_dataset, key, str(gt_json))
    results = read_json(pred_json)
    if not isinstance(results, list):
        raise ValueError(f'{pred_json}: expected a list of COCO results')
    check_results_list(gt_dataset, results, gt_json, pred_json, 'images', 'image_id')
    return coco_mask_ap(quiet_coco(gt_dataset), results, max_dets, where=str(pred_json))
