"""Checks of evaluation input files that the metrics themselves would not notice.

Every function raises ``ValueError`` / ``KeyError`` / ``FileNotFoundError`` with a message that
names the file (and the id or key) at fault, so ``tools/evaluate.py`` can print it on one line:
duplicate image / video ids, predictions for images the ground truth does not have, an empty
prediction set, label PNGs that are truncated or not 8-bit single-channel, prediction PNGs
without a ground truth.
"""
from collections import Counter
from pathlib import Path
from typing import Any, Hashable, Iterable, List, Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from .formats import PathLike, require_key


def unique_ids(entries: Iterable[Any], key: str, where: PathLike, what: str) -> List[Hashable]:
    """The ``key`` of every entry (each must have one); a repeated value is an error."""
    ids = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f'{where}: {what} #{position} is not a json object: {entry!r:.80}')
        ids.append(require_key(entry, key, f'{where}, {what} #{position}'))
    repeated = [value for value, count in Counter(ids).items() if count > 1]
    if repeated:
        raise ValueError(f'{where}: {what} {key} {repeated[0]!r} appears more than once '
                         f'({len(repeated)} repeated id(s))')
    return ids


def check_prediction_ids(pred_ids: Sequence[Hashable], gt_ids: Iterable[Hashable],
                         pred_file: PathLike, gt_file: PathLike, what: str) -> None:
    """Predictions exist, and each is for an image / video of the ground truth."""
    if len(pred_ids) == 0:
        raise ValueError(f'{pred_file}: the prediction set is empty (no {what} predicted)')
    known = set(gt_ids)
    extra = [value for value in pred_ids if value not in known]
    if extra:
        raise ValueError(f'{pred_file}: prediction for {what} id {extra[0]!r} that is not in the '
                         f'ground truth {gt_file} ({len(extra)} such prediction(s))')


def check_panoptic_json(gt: dict, pred: dict, gt_json: PathLike, pred_json: PathLike) -> None:
    """COCO / Cityscapes panoptic jsons (loaded): unique GT image ids, one annotation per
    image, one prediction per image, only for GT images, none empty."""
    annotated = unique_ids(require_key(gt, 'annotations', str(gt_json)), 'image_id', gt_json,
                           'annotation')
    # panopticapi reads only `annotations`; an `images` list, when there, must agree.
    image_ids = (unique_ids(gt['images'], 'id', gt_json, 'image') if 'images' in gt
                 else annotated)
    stray = set(annotated) - set(image_ids)
    if stray:
        raise ValueError(f'{gt_json}: annotation for image id {sorted(stray, key=str)[0]!r} '
                         'that its images list does not have')
    predicted = unique_ids(require_key(pred, 'annotations', str(pred_json)), 'image_id',
                           pred_json, 'annotation')
    check_prediction_ids(predicted, annotated, pred_json, gt_json, 'image')
    for entry in pred['annotations']:
        require_key(entry, 'segments_info', f'{pred_json}, image {entry["image_id"]}')
        require_key(entry, 'file_name', f'{pred_json}, image {entry["image_id"]}')
    for entry in gt['annotations']:
        require_key(entry, 'segments_info', f'{gt_json}, image {entry["image_id"]}')
        require_key(entry, 'file_name', f'{gt_json}, image {entry["image_id"]}')


def check_vipseg_json(gt: dict, pred: dict, gt_json: PathLike, pred_json: PathLike) -> None:
    """VIPSeg jsons (loaded): unique video ids, predictions only for GT videos, none empty,
    every video entry with its per-frame ``annotations``."""
    video_ids = unique_ids(require_key(gt, 'videos', str(gt_json)), 'video_id', gt_json,
                           'video')
    unique_ids(require_key(gt, 'annotations', str(gt_json)), 'video_id', gt_json,
               'annotation')
    predicted = unique_ids(require_key(pred, 'annotations', str(pred_json)), 'video_id',
                           pred_json, 'annotation')
    check_prediction_ids(predicted, video_ids, pred_json, gt_json, 'video')
    for name, data in ((gt_json, gt), (pred_json, pred)):
        for entry in data['annotations']:
            require_key(entry, 'annotations', f'{name}, video {entry["video_id"]}')


def check_results_list(gt: dict, results: Any, gt_json: PathLike, pred_json: PathLike,
                       set_key: str, id_key: str) -> None:
    """COCO instance / YouTube-VIS (loaded jsons): unique GT image (video) ids, a non-empty
    results list whose every result names an image (video) of the ground truth."""
    what = set_key[:-1]   # images -> image, videos -> video
    gt_ids = unique_ids(require_key(gt, set_key, str(gt_json)), 'id', gt_json, what)
    if not isinstance(results, list):
        raise ValueError(f'{pred_json}: expected a list of results, got a json '
                         f'{type(results).__name__}')
    predicted = [require_key(result, id_key, f'{pred_json}, result #{index}')
                 if isinstance(result, dict) else None for index, result in enumerate(results)]
    if None in predicted:
        raise ValueError(f'{pred_json}: result #{predicted.index(None)} is not a json object')
    check_prediction_ids(predicted, gt_ids, pred_json, gt_json, what)


def read_label_map(path: PathLike) -> np.ndarray:
    """An 8-bit single-channel (greyscale or palette-indexed) PNG as an (H, W) uint8 array;
    missing, truncated, 16-bit, RGB or non-image files raise errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'label PNG not found: {path}')
    try:
        with Image.open(path) as image:
            mode = image.mode
            array = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f'{path}: cannot read the label PNG ({error}): truncated or not an '
                         'image') from None
    if mode not in ('L', 'P'):
        raise ValueError(f'{path}: expected an 8-bit single-channel (greyscale or indexed) '
                         f'label PNG, got mode {mode!r} of shape {array.shape}')
    return array


def check_label_range(labels: np.ndarray, num_classes: int, ignore_index: int,
                      path: PathLike) -> None:
    """Predicted labels are class indices (or the ignore label)."""
    invalid = (labels >= num_classes) & (labels != ignore_index)
    if invalid.any():
        values = np.unique(labels[invalid])
        raise ValueError(f'{path}: label(s) {values[:5].tolist()} outside the {num_classes} '
                         f'classes (0..{num_classes - 1}, ignore {ignore_index})')


def check_semantic_files(files: Sequence[str], gt_dir: PathLike, pred_dir: PathLike,
                         listed_in: str) -> None:
    """Unique file names, a non-empty prediction folder, no prediction without a GT."""
    repeated = [name for name, count in Counter(files).items() if count > 1]
    if repeated:
        raise ValueError(f'{listed_in}: file {repeated[0]!r} is listed more than once')
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise FileNotFoundError(f'prediction folder not found: {pred_dir}')
    predicted = sorted(path.name for path in pred_dir.glob('*.png'))
    if not predicted:   # every prediction file is missing
        raise FileNotFoundError(f'{pred_dir}: the prediction set is empty: no PNG (expected '
                                f'{files[0]} and {len(files) - 1} more)')
    extra = sorted(set(predicted) - set(files))
    if extra:
        raise ValueError(f'{pred_dir / extra[0]}: prediction without a ground truth in '
                         f'{gt_dir} ({len(extra)} such file(s))')


def check_davis_results(results_dir: PathLike, sequences: Sequence[str]) -> None:
    """A non-empty results folder holding only sequences of the evaluated set."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f'results folder not found: {results_dir}')
    present = sorted(path.name for path in results_dir.iterdir() if path.is_dir())
    if not present:
        raise ValueError(f'{results_dir}: the prediction set is empty (no sequence folder)')
    extra = sorted(set(present) - set(sequences))
    if extra:
        raise ValueError(f'{results_dir / extra[0]}: results for a sequence that is not in the '
                         f'evaluated set ({len(extra)} such folder(s))')
