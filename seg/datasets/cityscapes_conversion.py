"""Cityscapes ``gtFine`` -> COCO-panoptic json + PNGs (what cityscapesScripts'
``createPanopticImgs`` produces). Miniature ``gtFine`` folders for tests:
``seg.testing.miniature.cityscapes_gtfine``.

Conversion rules (per ``*_gtFine_instanceIds.png`` value v):
  * v >= 1000: an instance of label id ``v // 1000`` (not crowd);
  * v < 1000: the whole region of label id v; crowd when that class has instances (a "group");
  * labels with ``ignore_in_eval`` (void, parking, caravan, ...) are left out: pixels stay void;
  * segment id = v, category id = train id (``use_train_id=True``, the ``_trainId`` files) or
    label id.

Output (``out_dir``, by default ``<root>/annotations``): ``cityscapes_panoptic_<split>[_trainId]
.json`` and the flat PNG folder ``cityscapes_panoptic_<split>[_trainId]/<stem>_gtFine_panoptic
.png``. Image entries: id ``<city>_<seq>_<frame>`` (a string, as the official tool), file_name
``<stem>_leftImg8bit.png`` (the real image name; the official tool writes
``<stem>_gtFine_leftImg8bit.png``, which ``CityscapesPanopticDataset`` also accepts).
"""
import json
import multiprocessing
import os
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

import cv2
import numpy as np

from seg.structures.panoptic_io import write_panoptic_png
from seg.utils.image_files import read_image_file
from .cityscapes_labels import EVAL_LABELS, LABEL_BY_ID

PathLike = Union[str, Path]
INSTANCE_SUFFIX = '_gtFine_instanceIds.png'
PANOPTIC_SUFFIX = '_gtFine_panoptic.png'
IMAGE_SUFFIX = '_leftImg8bit.png'


def panoptic_output_name(split: str, use_train_id: bool = True) -> str:
    """``cityscapes_panoptic_<split>_trainId`` (or without the suffix for label ids)."""
    return f'cityscapes_panoptic_{split}{"_trainId" if use_train_id else ""}'


def cityscapes_categories(use_train_id: bool = True) -> List[dict]:
    """The json ``categories``: the 19 evaluated classes (label-id order = train-id order)."""
    return [dict(id=label.train_id if use_train_id else label.label_id, name=label.name,
                 color=list(label.color), supercategory=label.category,
                 isthing=int(label.has_instances)) for label in EVAL_LABELS]


def instance_ids_to_panoptic(instance_ids: np.ndarray, use_train_id: bool = True,
                             where: str = 'instanceIds map') -> Tuple[np.ndarray, List[dict]]:
    """(H, W) instanceIds values -> (segment id map with 0 = void, segments_info list)."""
    if instance_ids.ndim != 2:
        raise ValueError(f'{where}: expected a single-channel instanceIds image, got shape '
                         f'{instance_ids.shape}')
    instance_ids = instance_ids.astype(np.int64)
    segment_map = np.zeros(instance_ids.shape, dtype=np.int64)
    segments = []
    for value in np.unique(instance_ids).tolist():
        label_id = value // 1000 if value >= 1000 else value
        label = LABEL_BY_ID.get(label_id)
        if label is None:
            raise ValueError(f'{where}: value {value} has label id {label_id}, which is not a '
                             'Cityscapes label')
        if label.ignore_in_eval:
            continue
        mask = instance_ids == value
        segment_map[mask] = value
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        segments.append(dict(
            id=int(value),
            category_id=int(label.train_id if use_train_id else label.label_id),
            area=int(mask.sum()),
            bbox=[int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1),
                  int(rows[-1] - rows[0] + 1)],
            iscrowd=int(value < 1000 and label.has_instances)))
    return segment_map, segments


def _convert_file(task: Tuple[str, str, bool]) -> Tuple[dict, dict]:
    path, png_folder, use_train_id = task
    instance_ids = read_image_file(path, cv2.IMREAD_UNCHANGED)
    segment_map, segments = instance_ids_to_panoptic(instance_ids, use_train_id, where=path)
    stem = os.path.basename(path)[:-len(INSTANCE_SUFFIX)]
    png_name = stem + PANOPTIC_SUFFIX
    write_panoptic_png(os.path.join(png_folder, png_name), segment_map)
    height, width = instance_ids.shape
    image = dict(id=stem, width=int(width), height=int(height), file_name=stem + IMAGE_SUFFIX)
    return image, dict(image_id=stem, file_name=png_name, segments_info=segments)


def instance_id_files(cityscapes_root: PathLike, split: str) -> List[Path]:
    """Sorted ``gtFine/<split>/<city>/*_gtFine_instanceIds.png`` files (errors if none)."""
    split_dir = Path(cityscapes_root) / 'gtFine' / split
    if not split_dir.is_dir():
        raise FileNotFoundError(f'Cityscapes gtFine folder not found: {split_dir} (expected '
                                f'<root>/gtFine/{split}/<city>/*{INSTANCE_SUFFIX}, from '
                                'gtFine_trainvaltest.zip)')
    files = sorted(split_dir.glob(f'*/*{INSTANCE_SUFFIX}'))
    if not files:
        raise FileNotFoundError(f'no *{INSTANCE_SUFFIX} files in {split_dir}/<city>/')
    return files


def convert_cityscapes_split(cityscapes_root: PathLike, split: str,
                             out_dir: Optional[PathLike] = None, use_train_id: bool = True,
                             jobs: int = 1,
                             log: Optional[Callable[[str], None]] = print) -> Path:
    """Convert ``gtFine/<split>`` of ``cityscapes_root``; returns the written json path.

    ``out_dir`` defaults to ``<cityscapes_root>/annotations`` (where
    ``CityscapesPanopticDataset`` looks); ``jobs`` > 1 converts files in worker processes;
    ``log`` receives progress lines (None: silent).
    """
    files = instance_id_files(cityscapes_root, split)
    out_dir = Path(out_dir) if out_dir is not None else Path(cityscapes_root) / 'annotations'
    name = panoptic_output_name(split, use_train_id)
    png_folder = out_dir / name
    png_folder.mkdir(parents=True, exist_ok=True)
    if log:
        log(f'{split}: converting {len(files)} instanceIds files -> {png_folder}/')
    tasks = [(str(path), str(png_folder), use_train_id) for path in files]
    images, annotations = [], []
    step = max(1, len(files) // 10)

    def collect(results) -> None:
        for done, (image, annotation) in enumerate(results, 1):
            images.append(image)
            annotations.append(annotation)
            if log and (done % step == 0 or done == len(files)):
                log(f'{split}: {done}/{len(files)} files')

    if jobs > 1:
        with multiprocessing.get_context('fork').Pool(jobs) as pool:
            collect(pool.imap(_convert_file, tasks, chunksize=4))
    else:
        collect(map(_convert_file, tasks))
    json_path = out_dir / f'{name}.json'
    with open(json_path, 'w', encoding='utf-8') as handle:
        json.dump(dict(images=images, annotations=annotations,
                       categories=cityscapes_categories(use_train_id)), handle)
    if log:
        log(f'{split}: wrote {json_path}')
    return json_path
