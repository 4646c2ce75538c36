"""Miniature Cityscapes ``gtFine`` folders (official layout, drawn rectangles) for tests of
``seg.datasets.cityscapes_conversion``, and the json segments their conversion must give."""
import json
from pathlib import Path
from typing import Dict, List, Sequence, Union

import cv2
import numpy as np

from seg.datasets.cityscapes_conversion import IMAGE_SUFFIX
from seg.datasets.cityscapes_labels import CITYSCAPES_LABELS, LABEL_BY_ID
from seg.structures.masks import mask_to_box

PathLike = Union[str, Path]


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
            mask = record['instance_ids'] == value
            area = int(mask.sum())
            bbox = [int(v) for v in mask_to_box(mask, 'xywh')]
        expected[value] = dict(id=value, area=area, bbox=bbox,
                               category_id=label.train_id if use_train_id else label.label_id,
                               iscrowd=int(value < 1000 and label.has_instances))
    return expected
