"""Generator of the toy video dataset: moving, occluding, appearing and disappearing shapes.

Each video shows a sky / grass background whose horizon drifts (a slow camera pan) and 1-4
objects (ball, box, tent) moving in straight lines, bouncing off the borders, painted in a fixed
depth order so they occlude each other. Some objects enter after the first frame, some leave
before the last. An object whose visible part in a frame is tiny is not annotated there (its
pixels are void). The same videos are written in three layouts:

    <out>/vipseg/   panoVIPSeg_categories.json, {train,val}.txt, imgs/, panomasks/ (VIPSeg)
    <out>/ytvis/    {train,valid}.json (official), {train,valid}/JPEGImages/,
                    annotations/youtube_vis_2019_{train,valid}.json (converted)
    <out>/davis/    ImageSets/2017/{train,val}.txt, JPEGImages/480p/, Annotations/480p/

Validation video k has video id k (1-based) in every layout, so one validation pass can be
scored by the YouTube-VIS, VIPSeg and DAVIS metrics alike.
"""
import json
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import cv2
import numpy as np
from PIL import Image

from seg.datasets.youtube_vis import official_to_coco_video
from seg.structures.masks import mask_to_box, mask_to_rle
from .toy_data import _object_rgb, _shape_mask, _stuff_texture

# VIPSeg-style category ids (codes: stuff id + 1, things (id + 1) * 100 + k).
TOY_VIDEO_CATEGORIES = (
    dict(id=0, name='sky', isthing=0, color=[150, 200, 245]),
    dict(id=1, name='grass', isthing=0, color=[60, 160, 60]),
    dict(id=2, name='ball', isthing=1, color=[220, 40, 40]),
    dict(id=3, name='box', isthing=1, color=[240, 190, 20]),
    dict(id=4, name='tent', isthing=1, color=[190, 50, 200]),
)
FRAME_SIZE = (64, 96)                 # (height, width)
OBJECT_SIZE_RANGE = (16, 26)          # pixels
MIN_VISIBLE_PIXELS = 12
SPLITS = (('train', 'train', 'train'), ('val', 'valid', 'val'))  # vipseg / ytvis / davis names
LAYOUTS = ('vipseg', 'ytvis', 'davis')
JPEG_QUALITY = 95
_THINGS = [c for c in TOY_VIDEO_CATEGORIES if c['isthing']]
_ID = {c['name']: c['id'] for c in TOY_VIDEO_CATEGORIES}


def _plan_objects(num_frames: int, rng: np.random.Generator) -> List[dict]:
    """Objects of one video in painting order (later ones on top)."""
    height, width = FRAME_SIZE
    objects = []
    for index in range(int(rng.integers(1, 5))):
        name = _THINGS[int(rng.integers(len(_THINGS)))]['name']
        size = float(rng.uniform(*OBJECT_SIZE_RANGE))
        patch = int(np.ceil(size)) + 4
        shape = _shape_mask(name, patch, patch, (patch / 2, patch / 2), size, rng)
        # The first object stays the whole video; the others may enter late or leave early.
        first, last = 0, num_frames - 1
        if index > 0 and rng.random() < 0.4:
            first = int(rng.integers(1, max(num_frames // 2, 2)))
        if index > 0 and rng.random() < 0.4 and first + 2 < num_frames:  # short videos
            last = int(rng.integers(max(first + 2, num_frames // 2), num_frames))
        objects.append(dict(
            name=name, shape=shape, first=first, last=min(last, num_frames - 1),
            position=np.array([rng.uniform(0, height - patch), rng.uniform(0, width - patch)]),
            velocity=rng.uniform(1.0, 3.0, size=2) * rng.choice([-1, 1], size=2),
            colour=_object_rgb(name, rng)))
    return objects


def _object_masks_at(objects: List[dict], frame: int) -> List[Optional[np.ndarray]]:
    """Full (unoccluded) mask of each object in a frame, None when it is not in the video."""
    height, width = FRAME_SIZE
    masks = []
    for obj in objects:
        if not obj['first'] <= frame <= obj['last']:
            masks.append(None)
            continue
        patch = obj['shape'].shape[0]
        position = obj['position'].copy()
        velocity = obj['velocity'].copy()
        for _ in range(frame):  # straight motion, bouncing off the borders
            position += velocity
            for axis, limit in enumerate((height - patch, width - patch)):
                if not 0 <= position[axis] <= limit:
                    velocity[axis] = -velocity[axis]
                    position[axis] = np.clip(position[axis], 0, limit)
        top, left = (int(round(v)) for v in position)
        canvas = np.zeros((height, width), bool)
        canvas[top:top + patch, left:left + patch] = obj['shape'][:height - top, :width - left]
        masks.append(canvas)
    return masks


def render_toy_video(num_frames: int, rng: np.random.Generator
                     ) -> Tuple[List[np.ndarray], List[np.ndarray], List[dict]]:
    """Frames (H, W, 3) uint8 BGR, VIPSeg code maps (H, W) int64, and the object list (each
    with ``name``, ``code`` and ``masks``: visible mask per frame or None)."""
    height, width = FRAME_SIZE
    objects = _plan_objects(num_frames, rng)
    per_class: Dict[str, int] = {}
    for obj in objects:
        obj['code'] = (_ID[obj['name']] + 1) * 100 + per_class.get(obj['name'], 0)
        per_class[obj['name']] = per_class.get(obj['name'], 0) + 1
        obj['masks'] = []
    textures = {name: _stuff_texture(name, height, width + num_frames, rng)
                for name in ('sky', 'grass')}
    horizon_base = height * rng.uniform(0.3, 0.55)
    wave = rng.uniform(8, 20)
    frames, code_maps = [], []
    ys, xs = np.mgrid[0:height, 0:width]
    for t in range(num_frames):
        horizon = horizon_base + 4 * np.sin((xs + t) / wave)
        sky = ys < horizon
        image = np.where(sky[..., None], textures['sky'][:, t:t + width],
                         textures['grass'][:, t:t + width])
        codes = np.where(sky, _ID['sky'] + 1, _ID['grass'] + 1).astype(np.int64)
        visible_owner = np.full((height, width), -1)
        for index, mask in enumerate(_object_masks_at(objects, t)):
            if mask is not None:
                visible_owner[mask] = index
        for index, obj in enumerate(objects):
            visible = visible_owner == index
            painted = visible.any()
            if painted:
                shade = rng.normal(0, 6, size=(int(visible.sum()), 3))
                image[visible] = obj['colour'] + shade
            if visible.sum() >= MIN_VISIBLE_PIXELS:
                codes[visible] = obj['code']
                obj['masks'].append(visible)
            else:
                codes[visible] = 0  # a sliver of an occluded object: void
                obj['masks'].append(None)
        frames.append(np.ascontiguousarray(np.clip(image, 0, 255).round().astype(np.uint8)
                                           [..., ::-1]))
        code_maps.append(codes)
    return frames, code_maps, objects


def _davis_palette() -> List[int]:
    palette = [0, 0, 0]
    for index in range(1, 256):
        palette += [(index * 97) % 256, (index * 53 + 80) % 256, (index * 193 + 30) % 256]
    return palette


def _write_video(root: Path, split_names: Tuple[str, str, str], name: str, video_id: int,
                 frames, code_maps, objects, official: dict) -> None:
    vipseg_split, ytvis_split, _ = split_names
    height, width = FRAME_SIZE
    # DAVIS ids: objects visible in the first frame first (1..n0), the others after.
    order = sorted(range(len(objects)), key=lambda i: (objects[i]['masks'][0] is None, i))
    davis_id = {index: rank + 1 for rank, index in enumerate(order)}
    file_names = []
    for t, (frame, codes) in enumerate(zip(frames, code_maps)):
        stem = f'{t:05d}'
        image_paths = (root / 'vipseg' / 'imgs' / name / f'{stem}.jpg',
                       root / 'ytvis' / ytvis_split / 'JPEGImages' / name / f'{stem}.jpg',
                       root / 'davis' / 'JPEGImages' / '480p' / name / f'{stem}.jpg')
        for path in image_paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise OSError(f'cannot write {path}')
        code_path = root / 'vipseg' / 'panomasks' / name / f'{stem}.png'
        code_path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(code_path), codes.astype(np.uint16))
        davis = np.zeros((height, width), np.uint8)
        for index, obj in enumerate(objects):
            if obj['masks'][t] is not None:
                davis[obj['masks'][t]] = davis_id[index]
        davis_path = root / 'davis' / 'Annotations' / '480p' / name / f'{stem}.png'
        davis_path.parent.mkdir(parents=True, exist_ok=True)
        palette_image = Image.fromarray(davis, mode='P')
        palette_image.putpalette(_davis_palette())
        palette_image.save(davis_path)
        file_names.append(f'{name}/{stem}.jpg')
    official['videos'].append(dict(id=video_id, width=width, height=height,
                                   length=len(frames), file_names=file_names))
    for obj in objects:
        segmentations, areas, bboxes = [], [], []
        for mask in obj['masks']:
            if mask is None:
                segmentations.append(None), areas.append(None), bboxes.append(None)
                continue
            segmentations.append(mask_to_rle(mask))
            areas.append(int(mask.sum()))
            bboxes.append([float(v) for v in mask_to_box(mask, 'xywh')])
        official['annotations'].append(dict(
            id=len(official['annotations']) + 1, video_id=video_id,
            category_id=_ID[obj['name']], iscrowd=0, width=width, height=height,
            length=len(frames), segmentations=segmentations, areas=areas, bboxes=bboxes))


def _clear_previous(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f'{out_dir} is not empty; pass --overwrite (overwrite=True) to '
                                  'replace the toy video dataset in it')
        for layout in LAYOUTS:  # only what this generator writes
            shutil.rmtree(out_dir / layout, ignore_errors=True)


def generate_toy_video_dataset(out_dir: Union[str, Path], num_train: int = 24, num_val: int = 6,
                               num_frames: Tuple[int, int] = (8, 12), seed: int = 0,
                               overwrite: bool = False,
                               log: Optional[Callable[[str], None]] = print) -> Dict[str, int]:
    """Write the toy video dataset (all three layouts); returns the videos per split.

    ``num_frames``: (min, max) frames per video (inclusive). Deterministic given ``seed``.
    """
    counts = dict(train=num_train, val=num_val)
    for split, count in counts.items():
        if not isinstance(count, int) or count < 1:
            raise ValueError(f'number of {split} videos must be a positive int, got {count!r}')
    if not 3 <= num_frames[0] <= num_frames[1]:
        raise ValueError(f'num_frames must be (min, max) with 3 <= min <= max, got {num_frames}')
    root = Path(out_dir)
    _clear_previous(root, overwrite)
    log = log or (lambda message: None)
    categories = [dict(c) for c in TOY_VIDEO_CATEGORIES]
    (root / 'vipseg').mkdir(parents=True, exist_ok=True)
    (root / 'vipseg' / 'panoVIPSeg_categories.json').write_text(json.dumps(categories))
    for split_index, split_names in enumerate(SPLITS):
        split = split_names[0]
        official = dict(videos=[], annotations=[],
                        categories=[dict(id=c['id'], name=c['name']) for c in _THINGS])
        names = []
        for index in range(counts[split]):
            rng = np.random.default_rng([seed, split_index, index])
            length = int(rng.integers(num_frames[0], num_frames[1] + 1))
            frames, code_maps, objects = render_toy_video(length, rng)
            name = f'{split}_{index:04d}'
            _write_video(root, split_names, name, index + 1, frames, code_maps, objects, official)
            names.append(name)
        (root / 'vipseg' / f'{split_names[0]}.txt').write_text('\n'.join(names) + '\n')
        sets = root / 'davis' / 'ImageSets' / '2017'
        sets.mkdir(parents=True, exist_ok=True)
        (sets / f'{split_names[2]}.txt').write_text('\n'.join(names) + '\n')
        (root / 'ytvis' / f'{split_names[1]}.json').write_text(json.dumps(official))
        annotations = root / 'ytvis' / 'annotations'
        annotations.mkdir(parents=True, exist_ok=True)
        converted = official_to_coco_video(official, f'toy {split_names[1]}.json')
        (annotations / f'youtube_vis_2019_{split_names[1]}.json').write_text(
            json.dumps(converted))
        log(f'{split}: wrote {counts[split]} videos')
    return counts
