"""Miniature image datasets: COCO (panoptic + instances), ADE20K panoptic, Objects365,
Cityscapes, each in its real folder layout with its real categories.

Pictures come from the toy renderer (``render_toy_sample``), shrunk to about 60-96 px; each
image maps the toy classes to real categories drawn at random (things to things, stuff to
stuff), so many real category ids occur.
"""
import json
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

from seg.datasets.cityscapes_conversion import convert_cityscapes_split
from seg.structures.masks import mask_to_box, mask_to_rle
from seg.structures.panoptic_io import write_panoptic_png
from ..toy_data import TOY_CATEGORIES, render_toy_sample
from .cityscapes_gtfine import write_miniature_gtfine
from .categories import (ADE20K_PANOPTIC_CATEGORIES, COCO_INSTANCE_CATEGORIES,
                         COCO_PANOPTIC_CATEGORIES, OBJECTS365_SAMPLE_CATEGORIES)

Log = Callable[[str], None]
IMAGE_SCALE = 0.6  # toy images are 96-160 px; the miniature ones 58-96 px
JPEG_QUALITY = 90
COCO_SPLIT_SIZES = dict(train=3, val=2)
ADE20K_SPLIT_SIZES = dict(train=2, val=2)
OBJECTS365_SPLIT_SIZES = dict(train=2, val=2)
_TOY_THING_IDS = [cat['id'] for cat in TOY_CATEGORIES if cat['isthing']]
_TOY_STUFF_IDS = [cat['id'] for cat in TOY_CATEGORIES if not cat['isthing']]


def write_json(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content), encoding='utf-8')


def write_jpeg(path: Path, bgr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f'cannot write {path}')


def render_real_category_sample(rng: np.random.Generator, thing_ids: Sequence[int],
                                stuff_ids: Sequence[int], allow_crowd: bool = True
                                ) -> Tuple[np.ndarray, np.ndarray, List[dict]]:
    """A shrunk toy image whose classes are real categories: (BGR image, segment-id map,
    segments_info with real ``category_id``). Empty ``stuff_ids``: stuff pixels are void."""
    bgr, ids, toy_segments = render_toy_sample(rng)
    category_of = dict(zip(_TOY_THING_IDS, rng.choice(thing_ids, len(_TOY_THING_IDS),
                                                        replace=False).tolist()))
    if stuff_ids:
        category_of.update(zip(_TOY_STUFF_IDS, rng.choice(stuff_ids, len(_TOY_STUFF_IDS),
                                                          replace=False).tolist()))
    height, width = (max(1, round(side * IMAGE_SCALE)) for side in ids.shape)
    bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
    ids = cv2.resize(ids.astype(np.int32), (width, height),
                     interpolation=cv2.INTER_NEAREST).astype(np.int64)
    segments = []
    for toy in toy_segments:
        mask = ids == toy['id']
        if toy['category_id'] not in category_of or not mask.any():
            ids[mask] = 0  # a stuff region without a real class, or lost by the shrinking
            continue
        segments.append(dict(id=toy['id'], category_id=int(category_of[toy['category_id']]),
                             iscrowd=int(toy['iscrowd'] and allow_crowd),
                             area=int(mask.sum()),
                             bbox=[int(v) for v in mask_to_box(mask, 'xywh')]))
    return np.ascontiguousarray(bgr), ids, segments


def _write_panoptic_dataset(name: str, categories: List[dict],
                            split_sizes: Dict[str, int], split_paths: Callable[[str], tuple],
                            image_name: Callable[[str, int], Tuple[object, str]],
                            seed: int, allow_crowd: bool, log: Log) -> Dict[str, list]:
    """COCO-panoptic-format splits; returns per split the (image entry, ids, segments)."""
    thing_ids = [cat['id'] for cat in categories if cat['isthing']]
    stuff_ids = [cat['id'] for cat in categories if not cat['isthing']]
    written = {}
    for split_index, (split, size) in enumerate(split_sizes.items()):
        json_path, image_dir, png_dir = split_paths(split)
        images, annotations, samples = [], [], []
        for index in range(size):
            rng = np.random.default_rng([seed, sum(map(ord, name)), split_index, index])
            bgr, ids, segments = render_real_category_sample(rng, thing_ids, stuff_ids,
                                                             allow_crowd)
            image_id, stem = image_name(split, index)
            write_jpeg(image_dir / f'{stem}.jpg', bgr)
            png_dir.mkdir(parents=True, exist_ok=True)
            write_panoptic_png(png_dir / f'{stem}.png', ids)
            image = dict(id=image_id, file_name=f'{stem}.jpg', height=int(bgr.shape[0]),
                         width=int(bgr.shape[1]))
            images.append(image)
            annotations.append(dict(image_id=image_id, file_name=f'{stem}.png',
                                    segments_info=segments))
            samples.append((image, ids, segments))
        write_json(json_path, dict(info=dict(description=f'miniature {name}', seed=seed),
                                   licenses=[], images=images, annotations=annotations,
                                   categories=[dict(cat) for cat in categories]))
        log(f'{name}: {split}: {size} images -> {json_path}')
        written[split] = samples
    return written


def _coco_image_name(split: str, index: int) -> Tuple[int, str]:
    """(image id, file stem ``%012d``) as the official COCO files; ids are sparse there too."""
    image_id = (1 if split == 'train' else 500_000) + 7 * index
    return image_id, f'{image_id:012d}'


def write_coco(root: Path, seed: int, log: Log) -> Dict[str, int]:
    """``coco/``: panoptic jsons + PNGs, images, and the instance jsons of the same segments."""
    coco = root / 'coco'
    annotations = coco / 'annotations'
    samples = _write_panoptic_dataset(
        'coco', COCO_PANOPTIC_CATEGORIES, COCO_SPLIT_SIZES,
        lambda split: (annotations / f'panoptic_{split}2017.json', coco / f'{split}2017',
                       annotations / f'panoptic_{split}2017'),
        _coco_image_name,
        seed, allow_crowd=True, log=log)
    is_thing = {cat['id']: cat['isthing'] for cat in COCO_PANOPTIC_CATEGORIES}
    for split, split_samples in samples.items():
        instances = []
        for image, ids, segments in split_samples:
            for segment in segments:
                if is_thing[segment['category_id']]:
                    instances.append(dict(
                        id=len(instances) + 1, image_id=image['id'],
                        category_id=segment['category_id'],
                        segmentation=mask_to_rle(ids == segment['id']), area=segment['area'],
                        bbox=segment['bbox'], iscrowd=segment['iscrowd']))
        path = annotations / f'instances_{split}2017.json'
        write_json(path, dict(info=dict(description='miniature coco instances'), licenses=[],
                              images=[image for image, _, _ in split_samples],
                              annotations=instances,
                              categories=[dict(cat) for cat in COCO_INSTANCE_CATEGORIES]))
        log(f'coco: {split}: {len(instances)} instances -> {path}')
    return {split: len(split_samples) for split, split_samples in samples.items()}


def write_ade20k(root: Path, seed: int, log: Log) -> Dict[str, int]:
    """``ade/ADEChallengeData2016/``: the detectron2 panoptic conversion's files."""
    ade = root / 'ade' / 'ADEChallengeData2016'
    folders = dict(train='training', val='validation')
    samples = _write_panoptic_dataset(
        'ade20k', ADE20K_PANOPTIC_CATEGORIES, ADE20K_SPLIT_SIZES,
        lambda split: (ade / f'ade20k_panoptic_{split}.json', ade / 'images' / folders[split],
                       ade / f'ade20k_panoptic_{split}'),
        lambda split, index: (f'ADE_{split}_{index + 1:08d}',) * 2,
        seed, allow_crowd=False, log=log)
    return {split: len(split_samples) for split, split_samples in samples.items()}


def write_objects365(root: Path, seed: int, log: Log) -> Dict[str, int]:
    """``objects365/``: official box-only jsons (``zhiyuan_objv2_{train,val}.json``) and the
    pseudo-mask train json (``obj365v2_train.gt.json``, with ``segmentation``); images under
    ``{train,val}/patch<k>/``."""
    base = root / 'objects365'
    thing_ids = [cat['id'] for cat in OBJECTS365_SAMPLE_CATEGORIES]
    counts = {}
    for split_index, (split, size) in enumerate(OBJECTS365_SPLIT_SIZES.items()):
        images, boxes, masks = [], [], []
        for index in range(size):
            rng = np.random.default_rng([seed, 365, split_index, index])
            bgr, ids, segments = render_real_category_sample(rng, thing_ids, (), False)
            patch, number = index % 2, 420_000 + 1000 * split_index + index
            file_name = f'images/v1/patch{patch}/objects365_v1_{number:08d}.jpg'
            write_jpeg(base / split / f'patch{patch}' / f'objects365_v1_{number:08d}.jpg', bgr)
            images.append(dict(id=number, file_name=file_name, height=int(bgr.shape[0]),
                               width=int(bgr.shape[1])))
            for segment in segments:
                box = dict(id=len(boxes) + 1, image_id=number,
                           category_id=segment['category_id'], area=segment['area'],
                           bbox=segment['bbox'], iscrowd=0)
                boxes.append(box)
                masks.append(dict(box, segmentation=mask_to_rle(ids == segment['id'])))
        categories = [dict(cat) for cat in OBJECTS365_SAMPLE_CATEGORIES]
        write_json(base / 'annotations' / f'zhiyuan_objv2_{split}.json',
                   dict(images=images, annotations=boxes, categories=categories))
        if split == 'train':
            write_json(base / 'annotations' / 'obj365v2_train.gt.json',
                       dict(images=images, annotations=masks, categories=categories))
        log(f'objects365: {split}: {size} images, {len(boxes)} objects')
        counts[split] = size
    return counts


def write_cityscapes(root: Path, seed: int, log: Log) -> Dict[str, int]:
    """``cityscapes/``: miniature ``gtFine`` + ``leftImg8bit`` converted to the panoptic
    ``annotations/cityscapes_panoptic_{split}_trainId{.json,/}`` (train ids)."""
    base = root / 'cityscapes'
    records = write_miniature_gtfine(base, splits=('train', 'val'), height=48, width=96,
                                     seed=seed)
    counts = {}
    for split in ('train', 'val'):
        json_path = convert_cityscapes_split(base, split, log=None)
        counts[split] = sum(record['split'] == split for record in records)
        log(f'cityscapes: {split}: {counts[split]} images -> {json_path}')
    return counts
