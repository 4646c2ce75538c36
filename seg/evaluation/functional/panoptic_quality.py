"""Panoptic quality (PQ, SQ, RQ) with the COCO rules of panopticapi's `pq_compute`.

Rules (identical for COCO, Cityscapes and ADE panoptic):
* a GT and a predicted segment of the same category match when IoU > 0.5 (strict), where the
  predicted pixels on GT void are removed from the union;
* GT crowd segments never match; an unmatched prediction is not a false positive when more
  than half of it lies on GT void plus the (last listed) crowd region of its own category;
* GT areas come from the json `area` field, predicted areas from the PNG;
* categories with no TP, FP or FN are left out of the averages.

All pixel work is one `bincount` over combined (GT segment, predicted segment) indices; the
matching then runs on the small per-segment intersection matrix.
"""
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from seg.structures.panoptic_io import read_panoptic_png
from seg.utils.json_files import read_json
from .formats import PathLike, VOID_SEGMENT_ID, map_in_processes, require_key
from .input_checks import check_panoptic_json

UNDEFINED = -1.0  # value reported for an average over zero categories


@dataclass(frozen=True)
class PanopticCategories:
    """Ordered category list: json ids, names and the thing flag."""
    ids: Tuple[int, ...]
    names: Tuple[str, ...]
    isthing: Tuple[bool, ...]
    _index: Dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not len(self.ids) == len(self.names) == len(self.isthing):
            raise ValueError('category ids, names and isthing flags must have the same length')
        index = {}
        for position, category_id in enumerate(self.ids):
            if category_id in index:
                raise ValueError(f'duplicate category id {category_id}')
            index[int(category_id)] = position
        object.__setattr__(self, '_index', index)

    @classmethod
    def from_coco(cls, categories: Sequence[dict]) -> 'PanopticCategories':
        """From a panoptic json `categories` list (`id`, `name`, `isthing`)."""
        return cls(tuple(int(c['id']) for c in categories),
                   tuple(str(c.get('name', c['id'])) for c in categories),
                   tuple(bool(c.get('isthing', 1)) for c in categories))

    @classmethod
    def from_dataset_meta(cls, meta: dict) -> 'PanopticCategories':
        """From a dataset's metainfo: `classes` (things first), `category_ids`, thing count."""
        classes = require_key(meta, 'classes', 'dataset_meta')
        category_ids = require_key(meta, 'category_ids', 'dataset_meta')
        if 'num_things_classes' in meta:
            num_things = int(meta['num_things_classes'])
        else:
            num_things = len(require_key(meta, 'thing_classes', 'dataset_meta'))
        if len(category_ids) != len(classes):
            raise ValueError(f'dataset_meta: {len(category_ids)} category_ids for '
                             f'{len(classes)} classes')
        return cls(tuple(int(c) for c in category_ids), tuple(classes),
                   tuple(i < num_things for i in range(len(classes))))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, category_id: int, where: str) -> int:
        """Position of a json category id; KeyError naming `where` if unknown."""
        try:
            return self._index[int(category_id)]
        except KeyError:
            raise KeyError(f'{where}: unknown category_id {category_id}') from None


@dataclass
class PQStat:
    """Per-category TP / FP / FN counts and summed TP IoU, aligned with a category list."""
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    iou: np.ndarray

    @classmethod
    def zeros(cls, num_categories: int) -> 'PQStat':
        return cls(*(np.zeros(num_categories, np.int64) for _ in range(3)),
                   np.zeros(num_categories, np.float64))

    def __iadd__(self, other: 'PQStat') -> 'PQStat':
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.iou += other.iou
        return self


@dataclass
class SegmentTable:
    """Segments of one image (or tube) sorted by id, with per-segment attributes."""
    ids: np.ndarray          # (S,) int64, ascending, all > 0
    category: np.ndarray     # (S,) index into PanopticCategories
    iscrowd: np.ndarray      # (S,) bool
    area: np.ndarray         # (S,) json areas (GT only; zeros for predictions)
    rank: np.ndarray         # (S,) position in the json list (crowd tie-break: last wins)


def segment_table(segments: Sequence[dict], categories: PanopticCategories, where: str,
                  is_gt: bool) -> SegmentTable:
    """Validate a json `segments_info` list and sort it by segment id."""
    count = len(segments)
    ids = np.empty(count, np.int64)
    category = np.empty(count, np.int64)
    iscrowd = np.zeros(count, bool)
    area = np.zeros(count, np.int64)
    for position, segment in enumerate(segments):
        ids[position] = require_key(segment, 'id', where)
        category[position] = categories.index(require_key(segment, 'category_id', where),
                                              f'{where}, segment {ids[position]}')
        if is_gt:
            iscrowd[position] = bool(require_key(segment, 'iscrowd', where))
            area[position] = require_key(segment, 'area', where)
    if count and ids.min() <= VOID_SEGMENT_ID:
        raise ValueError(f'{where}: segment ids must be positive (0 is void), got {ids.min()}')
    order = np.argsort(ids, kind='stable')
    ids = ids[order]
    duplicated = ids[1:][ids[1:] == ids[:-1]]
    if duplicated.size:
        raise ValueError(f'{where}: segment id {duplicated[0]} is listed twice')
    return SegmentTable(ids, category[order], iscrowd[order], area[order], order)


# Reusable id -> index table for `segment_indices` (grows to the largest id seen, at most
# 2^24 entries = 64 MB, the range of RGB-encoded ids); larger ids use a binary search.
_LOOKUP_LIMIT = 2 ** 24
_lookup = np.zeros(0, np.int32)


def segment_indices(id_map: np.ndarray, sorted_ids: np.ndarray, where: str) -> np.ndarray:
    """Map each pixel's id to 0 (void) or 1 + its position in `sorted_ids`.

    Raises KeyError naming the first ids of the map that the json does not list.
    """
    global _lookup
    flat = id_map.reshape(-1)
    keys = np.concatenate([[VOID_SEGMENT_ID], sorted_ids]).astype(np.int64)
    if flat.size and flat.min() < 0:
        raise KeyError(f'{where}: negative segment id {flat.min()} in the id map')
    top = max(int(keys[-1]), int(flat.max()) if flat.size else 0)
    if top < _LOOKUP_LIMIT:
        if _lookup.size <= top:
            _lookup = np.zeros(min(max(top + 1, 2 * _lookup.size), _LOOKUP_LIMIT), np.int32)
        _lookup[keys] = np.arange(keys.size)
        try:
            index = _lookup[flat]
        finally:
            _lookup[keys] = 0
    else:
        index = np.searchsorted(keys, flat)
        index[index == keys.size] = 0
    unknown = keys[index] != flat
    if unknown.any():
        missing = np.unique(flat[unknown])
        raise KeyError(f'{where}: segment id(s) {missing[:5].tolist()} present in the PNG but '
                       'not listed in the json')
    return index


def pair_counts(gt_index: np.ndarray, pred_index: np.ndarray, num_gt: int,
                num_pred: int) -> np.ndarray:
    """(num_gt + 1, num_pred + 1) pixel counts of every (GT, prediction) index pair."""
    size = (num_gt + 1) * (num_pred + 1)
    if size >= 2 ** 31:
        gt_index = gt_index.astype(np.int64)
    combined = gt_index * (num_pred + 1) + pred_index
    return np.bincount(combined, minlength=size).reshape(
        num_gt + 1, num_pred + 1)


def match_segments(counts: np.ndarray, gt: SegmentTable, pred_category: np.ndarray,
                   num_categories: int, gt_area: Optional[np.ndarray] = None,
                   gt_present: Optional[np.ndarray] = None,
                   pred_present: Optional[np.ndarray] = None,
                   gt_rank: Optional[np.ndarray] = None) -> PQStat:
    """COCO PQ matching on a pair-count matrix (row/column 0 = void).

    `gt_area`, `gt_present`, `pred_present` and `gt_rank` default to the table's own values /
    all present; video windows pass the per-window ones.
    """
    gt_area = gt.area if gt_area is None else gt_area
    gt_rank = gt.rank if gt_rank is None else gt_rank
    num_gt, num_pred = counts.shape[0] - 1, counts.shape[1] - 1
    gt_present = np.ones(num_gt, bool) if gt_present is None else gt_present
    pred_present = np.ones(num_pred, bool) if pred_present is None else pred_present
    intersection = counts[1:, 1:]
    on_void = counts[0, 1:]
    pred_area = counts[:, 1:].sum(axis=0)

    gt_hit, pred_hit = np.nonzero(intersection)
    candidate = (gt.category[gt_hit] == pred_category[pred_hit]) & ~gt.iscrowd[gt_hit]
    gt_hit, pred_hit = gt_hit[candidate], pred_hit[candidate]
    pair_intersection = intersection[gt_hit, pred_hit]
    union = pred_area[pred_hit] + gt_area[gt_hit] - pair_intersection - on_void[pred_hit]
    iou = pair_intersection / union
    matched = iou > 0.5
    gt_hit, pred_hit, iou = gt_hit[matched], pred_hit[matched], iou[matched]

    stat = PQStat.zeros(num_categories)
    stat.tp += np.bincount(gt.category[gt_hit], minlength=num_categories)
    stat.iou += np.bincount(gt.category[gt_hit], weights=iou, minlength=num_categories)
    gt_matched = np.zeros(num_gt, bool)
    gt_matched[gt_hit] = True
    pred_matched = np.zeros(num_pred, bool)
    pred_matched[pred_hit] = True

    missed = gt_present & ~gt_matched & ~gt.iscrowd
    stat.fn += np.bincount(gt.category[missed], minlength=num_categories)

    # The crowd region of a category is its last crowd segment in json order (panopticapi).
    crowd_of_category = np.full(num_categories, -1)
    crowd_rows = np.nonzero(gt_present & gt.iscrowd)[0]
    for row in crowd_rows[np.argsort(gt_rank[crowd_rows], kind='stable')]:
        crowd_of_category[gt.category[row]] = row
    ignored_area = on_void.astype(np.float64)
    crowd_row = crowd_of_category[pred_category]
    on_crowd = np.nonzero(crowd_row >= 0)[0]
    ignored_area[on_crowd] += intersection[crowd_row[on_crowd], on_crowd]
    unmatched = np.nonzero(pred_present & ~pred_matched)[0]
    counted = ignored_area[unmatched] / pred_area[unmatched] <= 0.5
    stat.fp += np.bincount(pred_category[unmatched[counted]], minlength=num_categories)
    return stat


def pq_image_stats(gt_ids: np.ndarray, gt_segments: Sequence[dict], pred_ids: np.ndarray,
                   pred_segments: Sequence[dict], categories: PanopticCategories,
                   where: str = 'image') -> PQStat:
    """PQ statistics of one image from its GT / predicted id maps and json segment lists."""
    if gt_ids.shape != pred_ids.shape:
        raise ValueError(f'{where}: prediction shape {pred_ids.shape} differs from the GT '
                         f'shape {gt_ids.shape}')
    gt = segment_table(gt_segments, categories, f'{where} (GT)', is_gt=True)
    pred = segment_table(pred_segments, categories, f'{where} (prediction)', is_gt=False)
    gt_index = segment_indices(gt_ids, gt.ids, f'{where} (GT)')
    pred_index = segment_indices(pred_ids, pred.ids, f'{where} (prediction)')
    counts = pair_counts(gt_index, pred_index, gt.ids.size, pred.ids.size)
    absent = np.nonzero(counts[:, 1:].sum(axis=0) == 0)[0]
    if absent.size:
        raise KeyError(f'{where} (prediction): segment id(s) {pred.ids[absent][:5].tolist()} '
                       'listed in the json but absent from the PNG')
    absent = np.nonzero(counts[1:, :].sum(axis=1) == 0)[0]
    if absent.size:
        raise KeyError(f'{where} (GT): segment id(s) {gt.ids[absent][:5].tolist()} listed in '
                       'the json but absent from the PNG')
    return match_segments(counts, gt, pred.category, len(categories))


def pq_average(stat: PQStat, categories: PanopticCategories,
               isthing: Optional[bool]) -> Tuple[dict, Dict[int, dict]]:
    """panopticapi's `PQStat.pq_average`: mean over categories with any TP, FP or FN."""
    pq_sum = sq_sum = rq_sum = 0.0
    n = 0
    per_class = {}
    for position, category_id in enumerate(categories.ids):
        if isthing is not None and categories.isthing[position] != isthing:
            continue
        tp, fp, fn = (int(x[position]) for x in (stat.tp, stat.fp, stat.fn))
        iou = float(stat.iou[position])
        entry = {'tp': tp, 'fp': fp, 'fn': fn, 'iou_sum': iou,
                 'name': categories.names[position], 'isthing': int(categories.isthing[position])}
        if tp + fp + fn == 0:
            per_class[category_id] = {'pq': 0.0, 'sq': 0.0, 'rq': 0.0, **entry}
            continue
        n += 1
        denominator = tp + 0.5 * fp + 0.5 * fn
        pq, sq, rq = iou / denominator, (iou / tp if tp else 0.0), tp / denominator
        per_class[category_id] = {'pq': pq, 'sq': sq, 'rq': rq, **entry}
        pq_sum, sq_sum, rq_sum = pq_sum + pq, sq_sum + sq, rq_sum + rq
    if n == 0:
        return {'pq': UNDEFINED, 'sq': UNDEFINED, 'rq': UNDEFINED, 'n': 0}, per_class
    return {'pq': pq_sum / n, 'sq': sq_sum / n, 'rq': rq_sum / n, 'n': n}, per_class


def pq_summary(stat: PQStat, categories: PanopticCategories) -> dict:
    """`All` / `Things` / `Stuff` (`pq`, `sq`, `rq`, `n`) and `per_class` by category id."""
    summary = {}
    for name, isthing in (('All', None), ('Things', True), ('Stuff', False)):
        summary[name], per_class = pq_average(stat, categories, isthing)
        if isthing is None:
            all_classes = per_class
    return {**summary, 'per_class': all_classes}


def segments_from_label_map(label_map: np.ndarray, num_classes: int,
                            category_ids: Sequence[int],
                            label_divisor: int) -> Tuple[np.ndarray, List[dict]]:
    """Turn a model's panoptic map into an id map plus json-style segments.

    `label_map` holds `label + instance * label_divisor`; pixels whose label equals
    `num_classes` are void. Segment id = map value + 1 (so label 0 never collides with void).
    """
    label_map = np.asarray(label_map).astype(np.int64)
    labels = label_map % label_divisor
    if labels.size and labels.max() > num_classes:
        raise ValueError(f'panoptic prediction holds label {labels.max()} > num_classes '
                         f'({num_classes})')
    ids = np.where(labels == num_classes, VOID_SEGMENT_ID, label_map + 1)
    segments = [{'id': int(segment_id),
                 'category_id': int(category_ids[(segment_id - 1) % label_divisor])}
                for segment_id in np.unique(ids) if segment_id != VOID_SEGMENT_ID]
    return ids, segments


@dataclass(frozen=True)
class ImageFiles:
    """One image's GT and predicted PNGs and segments (a picklable unit of work)."""
    gt_path: Path
    gt_segments: list
    pred_path: Path
    pred_segments: list
    where: str


def _pq_of_image(image: ImageFiles, categories: PanopticCategories) -> PQStat:
    return pq_image_stats(read_panoptic_png(image.gt_path), image.gt_segments,
                          read_panoptic_png(image.pred_path), image.pred_segments, categories,
                          where=image.where)


def evaluate_coco_panoptic(gt_json: PathLike, gt_dir: PathLike, pred_json: PathLike,
                           pred_dir: PathLike, progress: bool = False, nproc: int = 1) -> dict:
    """PQ of official-format panoptic predictions (panopticapi `pq_compute` result layout);
    ``nproc`` > 1 reads and matches the images in a process pool (same result)."""
    gt = read_json(gt_json)
    pred = read_json(pred_json)
    categories = PanopticCategories.from_coco(require_key(gt, 'categories', str(gt_json)))
    check_panoptic_json(gt, pred, gt_json, pred_json)
    pred_by_image = {}
    for annotation in require_key(pred, 'annotations', str(pred_json)):
        pred_by_image[require_key(annotation, 'image_id', str(pred_json))] = annotation
    images = []
    for gt_annotation in require_key(gt, 'annotations', str(gt_json)):
        image_id = require_key(gt_annotation, 'image_id', str(gt_json))
        if image_id not in pred_by_image:
            raise KeyError(f'{pred_json}: no prediction for the GT image with id {image_id}')
        pred_annotation = pred_by_image[image_id]
        gt_path = Path(gt_dir) / gt_annotation['file_name']
        pred_path = Path(pred_dir) / require_key(pred_annotation, 'file_name', str(pred_json))
        images.append(ImageFiles(gt_path, gt_annotation['segments_info'], pred_path,
                                 pred_annotation['segments_info'],
                                 f'image {image_id} ({gt_path.name} / {pred_path})'))
    stat = PQStat.zeros(len(categories))
    worker = partial(_pq_of_image, categories=categories)
    for image_stat in map_in_processes(worker, images, nproc, progress, 'PQ'):
        stat += image_stat
    return pq_summary(stat, categories)
