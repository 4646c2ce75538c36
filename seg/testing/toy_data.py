"""Generator of the toy COCO-panoptic dataset (the embedded default of the README's main job).

Images of mixed sizes show textured stuff regions (sky / grass / water) and 1-5 simple thing
objects (ball, box, tent, ring) with a characteristic colour family each. Objects of different
classes may overlap (each stays mostly visible); objects of the same class never touch, so
instances are separable by colour and shape alone. Some images have a thin void border, a few a
crowd segment (a cluster of small balls). Written in the standard COCO panoptic layout.
"""
import json
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import cv2
import numpy as np

from seg.structures.panoptic_io import write_panoptic_png

TOY_CATEGORIES = (
    dict(id=1, name='ball', isthing=1, supercategory='shape', color=[220, 40, 40]),
    dict(id=2, name='box', isthing=1, supercategory='shape', color=[240, 190, 20]),
    dict(id=3, name='tent', isthing=1, supercategory='shape', color=[190, 50, 200]),
    dict(id=4, name='ring', isthing=1, supercategory='shape', color=[240, 240, 240]),
    dict(id=101, name='sky', isthing=0, supercategory='background', color=[150, 200, 245]),
    dict(id=102, name='grass', isthing=0, supercategory='background', color=[60, 160, 60]),
    dict(id=103, name='water', isthing=0, supercategory='background', color=[20, 50, 140]),
)
SPLITS = ('train', 'val')
IMAGE_SIDE_RANGE = (96, 160)          # inclusive, pixels
OBJECT_SIZE_RANGE = (0.28, 0.5)       # object extent / shorter image side
MIN_VISIBLE_FRACTION = 0.6            # occlusion limit for every object
CROWD_PROBABILITY = 0.08
VOID_BORDER_PROBABILITY = 0.5
JPEG_QUALITY = 95
_IDS = {cat['name']: cat['id'] for cat in TOY_CATEGORIES}


def _object_rgb(name: str, rng: np.random.Generator) -> np.ndarray:
    """Base colour of one object: its class family plus a per-object variation."""
    families = {'ball': (215, 45, 45), 'box': (240, 185, 25), 'tent': (185, 55, 200),
                'ring': (235, 235, 235)}
    base = np.array(families[name], dtype=np.float64)
    return np.clip(base + rng.uniform(-22, 22, size=3), 0, 255)


def _stuff_texture(name: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float RGB texture of a stuff class: distinct colour, pattern and noise."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    if name == 'sky':      # light blue, brighter towards the top, smooth
        base = np.array([150, 200, 245]) + rng.uniform(-12, 12, 3)
        shade = 25 * (1 - ys / height)[..., None]
        noise_std = 3.0
    elif name == 'grass':  # green with vertical blade stripes
        base = np.array([60, 150, 55]) + rng.uniform(-12, 12, 3)
        shade = rng.normal(0, 18, size=(1, width, 1)).repeat(height, 0)
        noise_std = 9.0
    elif name == 'water':  # deep blue with horizontal waves
        base = np.array([25, 55, 145]) + rng.uniform(-10, 10, 3)
        phase = rng.uniform(0, 2 * np.pi)
        shade = 18 * np.sin(2 * np.pi * ys / 7 + phase + 0.6 * np.sin(xs / 9))[..., None]
        noise_std = 4.0
    else:
        raise ValueError(f'unknown toy stuff class {name!r}')
    return base + shade + rng.normal(0, noise_std, size=(height, width, 3))


def _stuff_layout(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W) map of stuff category ids: optional sky above a wavy horizon, grass/water below."""
    ys, xs = np.mgrid[0:height, 0:width]
    horizon = height * rng.uniform(0.25, 0.6) + 4 * np.sin(xs / rng.uniform(8, 20))
    below = rng.permutation(['grass', 'water'])
    layout = np.full((height, width), _IDS[below[0]], dtype=np.int64)
    if rng.random() < 0.6:  # both ground classes, split by a wavy vertical border
        border = width * rng.uniform(0.25, 0.75) + 4 * np.sin(ys / rng.uniform(8, 20))
        layout[xs >= border] = _IDS[below[1]]
    if rng.random() < 0.85:
        layout[ys < horizon] = _IDS['sky']
    return layout


def _shape_mask(name: str, height: int, width: int, centre: Tuple[float, float], size: float,
                rng: np.random.Generator) -> np.ndarray:
    """Boolean (H, W) mask of one object of extent ``size`` centred at ``centre`` (x, y)."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    cx, cy = centre
    if name in ('ball', 'ring'):
        cv2.circle(canvas, (int(round(cx)), int(round(cy))), int(round(size / 2)), 1, -1)
        if name == 'ring':
            cv2.circle(canvas, (int(round(cx)), int(round(cy))), int(round(size / 4)), 0, -1)
    elif name == 'box':
        box_w, box_h = size * rng.uniform(0.7, 1.0), size * rng.uniform(0.7, 1.0)
        corners = cv2.boxPoints(((cx, cy), (box_w, box_h), rng.uniform(-20, 20)))
        cv2.fillPoly(canvas, [np.round(corners).astype(np.int32)], 1)
    elif name == 'tent':
        half, rise = size / 2, size * rng.uniform(0.8, 1.0) / 2
        apex_shift = rng.uniform(-0.15, 0.15) * size
        points = np.array([[cx - half, cy + rise], [cx + half, cy + rise],
                           [cx + apex_shift, cy - rise]])
        cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 1)
    else:
        raise ValueError(f'unknown toy thing class {name!r}')
    return canvas.astype(bool)


def _crowd_mask(height: int, width: int, margin: int, rng: np.random.Generator) -> np.ndarray:
    """A cluster of 4-6 small discs: one 'ball' segment marked iscrowd."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    short = min(height, width)
    radius = max(int(short * 0.06), 3)
    cx = rng.uniform(margin + 3 * radius, width - margin - 3 * radius)
    cy = rng.uniform(margin + 3 * radius, height - margin - 3 * radius)
    for _ in range(rng.integers(4, 7)):
        x, y = cx + rng.uniform(-2, 2) * radius, cy + rng.uniform(-2, 2) * radius
        cv2.circle(canvas, (int(round(x)), int(round(y))), radius, 1, -1)
    return canvas.astype(bool)


def _place_objects(height: int, width: int, margin: int, rng: np.random.Generator
                   ) -> List[dict]:
    """Objects in painting order (later ones on top), each dict(name, mask, iscrowd)."""
    objects: List[dict] = []
    if rng.random() < CROWD_PROBABILITY:
        objects.append(dict(name='ball', mask=_crowd_mask(height, width, margin, rng), iscrowd=1))
    names = [cat['name'] for cat in TOY_CATEGORIES if cat['isthing']]
    short = min(height, width)
    grow = np.ones((5, 5), dtype=np.uint8)
    for _ in range(rng.integers(1, 6)):
        name = names[rng.integers(len(names))]
        for _attempt in range(30):
            size = short * rng.uniform(*OBJECT_SIZE_RANGE)
            reach = size / 2 + 1
            centre = (rng.uniform(margin + reach, width - margin - reach),
                      rng.uniform(margin + reach, height - margin - reach))
            mask = _shape_mask(name, height, width, centre, size, rng)
            touches_same_class = any(
                other['name'] == name and (cv2.dilate(other['mask'].astype(np.uint8), grow)
                                           .astype(bool) & mask).any() for other in objects)
            if touches_same_class or not _all_stay_visible(objects, mask):
                continue
            objects.append(dict(name=name, mask=mask, iscrowd=0))
            break
    return objects


def _all_stay_visible(objects: List[dict], new_mask: np.ndarray) -> bool:
    """Whether painting ``new_mask`` on top keeps every object mostly visible."""
    covered = new_mask.copy()
    for other in reversed(objects):  # from the top of the stack down
        full = other['mask'].sum()
        visible = other['mask'] & ~covered
        if visible.sum() < MIN_VISIBLE_FRACTION * full:
            return False
        covered |= other['mask']
    return True


def render_toy_sample(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, List[dict]]:
    """One toy image: (H, W, 3) uint8 BGR image, (H, W) int64 segment ids, segments_info."""
    height, width = (int(rng.integers(IMAGE_SIDE_RANGE[0], IMAGE_SIDE_RANGE[1] + 1))
                     for _ in range(2))
    margin = int(rng.integers(2, 5)) if rng.random() < VOID_BORDER_PROBABILITY else 0

    layout = _stuff_layout(height, width, rng)
    image = np.zeros((height, width, 3), dtype=np.float64)
    ids = np.zeros((height, width), dtype=np.int64)
    for cat in TOY_CATEGORIES:
        region = layout == cat['id']
        if not cat['isthing'] and region.any():
            image[region] = _stuff_texture(cat['name'], height, width, rng)[region]
            ids[region] = cat['id'] * 1000  # stuff segment id; things use cat_id*1000 + k
    crowd_flags = {}
    for index, obj in enumerate(_place_objects(height, width, margin, rng), start=1):
        colour = _object_rgb(obj['name'], rng)
        shade = rng.normal(0, 6, size=(height, width, 3))
        image[obj['mask']] = (colour + shade)[obj['mask']]
        segment_id = _IDS[obj['name']] * 1000 + index
        ids[obj['mask']] = segment_id
        crowd_flags[segment_id] = obj['iscrowd']
    if margin:
        void = np.ones((height, width), dtype=bool)
        void[margin:height - margin, margin:width - margin] = False
        image[void] = 128 + rng.normal(0, 4, size=(int(void.sum()), 3))
        ids[void] = 0

    segments = []
    for segment_id in np.unique(ids):
        if segment_id == 0:
            continue
        rows, cols = np.nonzero(ids == segment_id)
        x0, y0 = int(cols.min()), int(rows.min())
        segments.append(dict(
            id=int(segment_id), category_id=int(segment_id // 1000),
            iscrowd=int(crowd_flags.get(int(segment_id), 0)), area=int(rows.size),
            bbox=[x0, y0, int(cols.max()) - x0 + 1, int(rows.max()) - y0 + 1]))
    bgr = np.clip(image, 0, 255).round().astype(np.uint8)[..., ::-1]
    return np.ascontiguousarray(bgr), ids, segments


def _clear_previous(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f'{out_dir} is not empty; pass --overwrite (overwrite=True) to '
                                  'replace the toy dataset in it')
        for split in SPLITS:  # only what this generator writes; other files are left alone
            shutil.rmtree(out_dir / f'{split}2017', ignore_errors=True)
            shutil.rmtree(out_dir / 'annotations' / f'panoptic_{split}2017', ignore_errors=True)
            (out_dir / 'annotations' / f'panoptic_{split}2017.json').unlink(missing_ok=True)


def generate_toy_dataset(out_dir: Union[str, Path], num_train: int = 200, num_val: int = 40,
                         seed: int = 0, overwrite: bool = False,
                         log: Optional[Callable[[str], None]] = print) -> Dict[str, int]:
    """Write the toy dataset to ``out_dir``; returns the number of images per split.

    Deterministic given ``seed`` (each image draws from its own seeded generator). Refuses a
    non-empty ``out_dir`` unless ``overwrite``.
    """
    counts = dict(train=num_train, val=num_val)
    for split, count in counts.items():
        if not isinstance(count, int) or count < 1:
            raise ValueError(f'number of {split} images must be a positive int, got {count!r}')
    out_dir = Path(out_dir)
    _clear_previous(out_dir, overwrite)
    log = log or (lambda message: None)
    for split_index, split in enumerate(SPLITS):
        image_dir = out_dir / f'{split}2017'
        png_dir = out_dir / 'annotations' / f'panoptic_{split}2017'
        image_dir.mkdir(parents=True, exist_ok=True)
        png_dir.mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for index in range(counts[split]):
            image_id = split_index * 1_000_000 + index + 1
            rng = np.random.default_rng([seed, split_index, index])
            bgr, ids, segments = render_toy_sample(rng)
            stem = f'{image_id:012d}'
            if not cv2.imwrite(str(image_dir / f'{stem}.jpg'), bgr,
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise OSError(f'cannot write {image_dir / f"{stem}.jpg"}')
            write_panoptic_png(png_dir / f'{stem}.png', ids)
            images.append(dict(id=image_id, file_name=f'{stem}.jpg', height=int(bgr.shape[0]),
                               width=int(bgr.shape[1])))
            annotations.append(dict(image_id=image_id, file_name=f'{stem}.png',
                                    segments_info=segments))
            if (index + 1) % 50 == 0 or index + 1 == counts[split]:
                log(f'{split}: {index + 1}/{counts[split]} images')
        content = dict(
            info=dict(description='OMG-Seg toy panoptic dataset', version='1.0', seed=seed),
            licenses=[], images=images, annotations=annotations,
            categories=[dict(cat) for cat in TOY_CATEGORIES])
        ann_path = out_dir / 'annotations' / f'panoptic_{split}2017.json'
        ann_path.write_text(json.dumps(content), encoding='utf-8')
        log(f'{split}: wrote {ann_path}')
    return counts
