"""Cityscapes ``gtFine`` -> COCO-panoptic json + PNGs (what cityscapesScripts'
``createPanopticImgs`` produces), and a writer of miniature ``gtFine`` folders for tests.

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
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .cityscapes_labels import CITYSCAPES_LABELS, EVAL_LABELS, LABEL_BY_ID
from .panoptic_utils import read_image_file, write_panoptic_png

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


# --------------------------------------------------------------------------- miniature gtFine
def _miniature_objects(index: int, height: int, width: int) -> List[dict]:
    """Rectangles (x0, y0, x1, y1; ends exclusive) of one miniature frame, drawn in order.

    Stuff bands cover the frame; things never overlap each other, so a thing's area and box
    are its rectangle's. Includes a crowd region (person group), an ignored class (caravan)
    and void rows (ego vehicle), and one frame out of two has a bicycle.
    """
    shift = index % 4
    third = height // 4
    objects = [
        dict(value=23, name='sky', box=(0, 0, width, third)),
        dict(value=11, name='building', box=(0, third, width // 2, 2 * third)),
        dict(value=21, name='vegetation', box=(width // 2, third, width, 2 * third)),
        dict(value=7, name='road', box=(0, 2 * third, width, height - 4)),
        dict(value=8, name='sidewalk', box=(0, height - 4, width, height - 2)),
        dict(value=1, name='ego vehicle', box=(0, height - 2, width, height)),
        dict(value=26000, name='car', box=(2 + shift, 2 * third + 1, 10 + shift, 2 * third + 6)),
        dict(value=26001, name='car', box=(13, 2 * third, 20, 2 * third + 7)),
        dict(value=24000, name='person', box=(23, third + 2, 26 + shift % 2, 2 * third + 3)),
        dict(value=24, name='persongroup', box=(29, third + 1, 34, 2 * third)),
        dict(value=29000, name='caravan', box=(37, 2 * third, 44, 2 * third + 5)),
    ]
    if index % 2:
        objects.append(dict(value=33000, name='bicycle', box=(47, 2 * third + 1, 53,
                                                            2 * third + 6)))
    return objects


def write_miniature_gtfine(root: PathLike, splits: Sequence[str] = ('train', 'val'),
                           cities: Sequence[str] = ('aachen', 'bremen'),
                           frames_per_city: int = 2, height: int = 32, width: int = 64,
                           seed: int = 0) -> List[dict]:
    """Write a tiny Cityscapes tree under ``root`` in the official layout::

        leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png   (random pixels)
        gtFine/<split>/<city>/<stem>_gtFine_{instanceIds,labelIds,color}.png, _polygons.json

    Returns one record per frame: split, city, stem (``<city>_<seq>_<frame>``), image_path,
    instance_ids (the (H, W) int array written) and objects (the drawn rectangles: value,
    name, box (x0, y0, x1, y1) with exclusive ends, in drawing order).
    """
    if width < 56 or height < 24:
        raise ValueError(f'the miniature frame needs width >= 56 and height >= 24, got '
                         f'{width}x{height}')
    root = Path(root)
    rng = np.random.default_rng(seed)
    records = []
    for split in splits:
        for city_index, city in enumerate(cities):
            gt_dir = root / 'gtFine' / split / city
            image_dir = root / 'leftImg8bit' / split / city
            gt_dir.mkdir(parents=True, exist_ok=True)
            image_dir.mkdir(parents=True, exist_ok=True)
            for frame in range(frames_per_city):
                index = city_index * frames_per_city + frame
                stem = f'{city}_{city_index:06d}_{19 + frame:06d}'
                objects = _miniature_objects(index, height, width)
                instance_ids = np.zeros((height, width), dtype=np.int64)
                polygons = []
                for obj in objects:
                    x0, y0, x1, y1 = obj['box']
                    instance_ids[y0:y1, x0:x1] = obj['value']
                    polygons.append(dict(label=obj['name'], polygon=[[x0, y0], [x1, y0],
                                                                     [x1, y1], [x0, y1]]))
                label_ids = np.where(instance_ids >= 1000, instance_ids // 1000, instance_ids)
                colors = np.zeros((height, width, 3), dtype=np.uint8)
                for label_id in np.unique(label_ids).tolist():
                    colors[label_ids == label_id] = LABEL_BY_ID[label_id].color
                prefix = gt_dir / f'{stem}_gtFine'
                _write_png(f'{prefix}_instanceIds.png', instance_ids.astype(np.uint16))
                _write_png(f'{prefix}_labelIds.png', label_ids.astype(np.uint8))
                _write_png(f'{prefix}_color.png', colors[..., ::-1])
                Path(f'{prefix}_polygons.json').write_text(json.dumps(dict(
                    imgHeight=height, imgWidth=width, objects=polygons)))
                image_path = image_dir / f'{stem}{IMAGE_SUFFIX}'
                _write_png(image_path, rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
                records.append(dict(split=split, city=city, stem=stem,
                                    image_path=str(image_path), instance_ids=instance_ids,
                                    objects=objects))
    return records


def _write_png(path: PathLike, array: np.ndarray) -> None:
    if not cv2.imwrite(str(path), array):
        raise OSError(f'cannot write {path}')


def miniature_expected_segments(record: dict, use_train_id: bool = True) -> Dict[int, dict]:
    """Segment id -> expected json segment of a miniature frame, from its drawn rectangles
    (things: the rectangle's area and box; stuff: pixel count of the final map)."""
    expected = {}
    name_to_label = {label.name: label for label in CITYSCAPES_LABELS}
    for obj in record['objects']:
        label = name_to_label[obj['name'].replace('group', '')]
        if label.ignore_in_eval:
            continue
        value = obj['value']
        x0, y0, x1, y1 = obj['box']
        if label.has_instances:
            area, bbox = (x1 - x0) * (y1 - y0), [x0, y0, x1 - x0, y1 - y0]
        else:
            rows, cols = np.nonzero(record['instance_ids'] == value)
            area = int(rows.size)
            bbox = [int(cols.min()), int(rows.min()), int(cols.max() - cols.min() + 1),
                    int(rows.max() - rows.min() + 1)]
        expected[value] = dict(id=value, area=area, bbox=bbox,
                               category_id=label.train_id if use_train_id else label.label_id,
                               iscrowd=int(value < 1000 and label.has_instances))
    return expected
