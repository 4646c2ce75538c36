"""Miniature video datasets: YouTube-VIS 2019 / 2021, VIPSeg, DAVIS-2017, each in its real
folder layout with its real categories.

Videos come from the toy video renderer (``render_toy_video``: 64x96 frames of moving,
occluding balls / boxes / tents over sky and grass); each video maps the toy classes to real
categories drawn at random (things to things, stuff to stuff).
"""
import hashlib
from pathlib import Path
from typing import Dict, List, Sequence

import cv2
import numpy as np
from PIL import Image

from seg.datasets.youtube_vis import official_to_coco_video
from seg.structures.masks import mask_to_box, mask_to_rle
from ..toy_video_data import TOY_VIDEO_CATEGORIES, _davis_palette, render_toy_video
from .categories import VIPSEG_CATEGORIES, youtube_vis_categories
from .images import Log, write_jpeg, write_json

VIDEO_SPLIT_SIZES = dict(train=2, val=2)   # videos per split
FRAMES_RANGE = (3, 4)                      # frames per video (inclusive)
VIPSEG_FRAME_SIZE = (720, 320)             # (h, w): the configs refuse frames not 720 px high
DAVIS_FULL_RESOLUTION_SCALE = 2            # Full-Resolution frames are 2x the 480p ones
YTVIS_FRAME_STEP = 5                       # official frame names: 00000, 00005, ...
_TOY_STUFF_CODES = {cat['id'] + 1: cat['name'] for cat in TOY_VIDEO_CATEGORIES
                    if not cat['isthing']}


def _video_name(dataset: str, split: str, index: int, seed: int) -> str:
    """A deterministic hex id like the YouTube-VIS folder names (``0a2f2bd294``)."""
    return hashlib.md5(f'{dataset}/{split}/{index}/{seed}'.encode()).hexdigest()[:10]


def _render_videos(dataset: str, seed: int) -> Dict[str, List[tuple]]:
    """Per split: (index, rng, frames, code maps, objects) of each video (the rng goes on
    to draw the real categories)."""
    videos = {}
    for split_index, (split, size) in enumerate(VIDEO_SPLIT_SIZES.items()):
        videos[split] = []
        for index in range(size):
            rng = np.random.default_rng([seed, sum(map(ord, dataset)), split_index, index])
            length = int(rng.integers(FRAMES_RANGE[0], FRAMES_RANGE[1] + 1))
            frames, code_maps, objects = render_toy_video(length, rng)
            videos[split].append((index, rng, frames, code_maps, objects))
    return videos


def _object_categories(objects: Sequence[dict], category_ids: Sequence[int],
                       rng: np.random.Generator) -> List[int]:
    """A real category per toy object; objects of one toy class share it."""
    names = sorted({obj['name'] for obj in objects})
    chosen = dict(zip(names, rng.choice(category_ids, len(names), replace=False).tolist()))
    return [int(chosen[obj['name']]) for obj in objects]


def write_youtube_vis(root: Path, version: str, seed: int, log: Log) -> Dict[str, int]:
    """``youtube_vis_<version>/``: the official jsons (2019: ``train.json`` / ``valid.json``;
    2021: ``{train,valid}/instances.json``), the frames ``{train,valid}/JPEGImages/<video>/``
    and the converted ``annotations/youtube_vis_<version>_{train,valid}.json``. The valid split
    has no annotations, as the official one."""
    base = root / f'youtube_vis_{version}'
    categories = youtube_vis_categories(version)
    counts = {}
    for split, videos in _render_videos(f'youtube_vis_{version}', seed).items():
        ytvis_split = 'train' if split == 'train' else 'valid'
        official = dict(info=dict(description=f'miniature YouTube-VIS {version}'), licenses=[],
                        videos=[], categories=[dict(cat) for cat in categories],
                        annotations=[] if split == 'train' else None)
        for index, rng, frames, _, objects in videos:
            name = _video_name(f'ytvis{version}', split, index, seed)
            height, width = frames[0].shape[:2]
            file_names = []
            for t, frame in enumerate(frames):
                file_names.append(f'{name}/{t * YTVIS_FRAME_STEP:05d}.jpg')
                write_jpeg(base / ytvis_split / 'JPEGImages' / file_names[-1], frame)
            video_id = len(official['videos']) + 1
            official['videos'].append(dict(id=video_id, width=width, height=height,
                                           length=len(frames), file_names=file_names))
            if official['annotations'] is None:
                continue
            for obj, category_id in zip(objects, _object_categories(
                    objects, [cat['id'] for cat in categories], rng)):
                visible = [mask for mask in obj['masks'] if mask is not None]
                if not visible:
                    continue
                official['annotations'].append(dict(
                    id=len(official['annotations']) + 1, video_id=video_id,
                    category_id=category_id, iscrowd=0, width=width, height=height,
                    length=len(frames),
                    segmentations=[None if m is None else mask_to_rle(m) for m in obj['masks']],
                    areas=[None if m is None else int(m.sum()) for m in obj['masks']],
                    bboxes=[None if m is None else [float(v) for v in mask_to_box(m, 'xywh')]
                            for m in obj['masks']]))
        if official['annotations'] is None:
            del official['annotations']
        official_path = (base / f'{ytvis_split}.json' if version == '2019'
                         else base / ytvis_split / 'instances.json')
        write_json(official_path, official)
        converted_path = base / 'annotations' / f'youtube_vis_{version}_{ytvis_split}.json'
        write_json(converted_path, official_to_coco_video(official, str(official_path)))
        counts[ytvis_split] = len(videos)
        log(f'youtube_vis_{version}: {ytvis_split}: {len(videos)} videos -> {converted_path}')
    return counts


def _vipseg_codes(code_maps: Sequence[np.ndarray], objects: Sequence[dict],
                  rng: np.random.Generator) -> List[np.ndarray]:
    """The toy code maps with real VIPSeg categories (stuff ``id + 1``, things
    ``(id + 1) * 100 + k``), at the 720p frame size."""
    things = [cat['id'] for cat in VIPSEG_CATEGORIES if cat['isthing']]
    stuff = [cat['id'] for cat in VIPSEG_CATEGORIES if not cat['isthing']]
    new_code = {code: int(cat_id) + 1 for code, cat_id in zip(
        sorted(_TOY_STUFF_CODES), rng.choice(stuff, len(_TOY_STUFF_CODES), replace=False))}
    per_category: Dict[int, int] = {}
    for obj, category_id in zip(objects, _object_categories(objects, things, rng)):
        k = per_category.get(category_id, 0)
        per_category[category_id] = k + 1
        new_code[obj['code']] = (category_id + 1) * 100 + k
    height, width = VIPSEG_FRAME_SIZE
    result = []
    for codes in code_maps:
        mapped = np.zeros(codes.shape, np.uint16)  # 0: void (and unannotated slivers)
        for old, new in new_code.items():
            mapped[codes == old] = new
        result.append(cv2.resize(mapped, (width, height), interpolation=cv2.INTER_NEAREST))
    return result


def write_vipseg(root: Path, seed: int, log: Log) -> Dict[str, int]:
    """``VIPSeg/``: ``panoVIPSeg_categories.json``, ``{train,val}.txt``,
    ``imgs/<video>/<frame>.jpg`` and 16-bit ``panomasks/<video>/<frame>.png`` at 720p."""
    base = root / 'VIPSeg'
    write_json(base / 'panoVIPSeg_categories.json', [dict(cat) for cat in VIPSEG_CATEGORIES])
    height, width = VIPSEG_FRAME_SIZE
    counts = {}
    for split, videos in _render_videos('vipseg', seed).items():
        names = []
        for index, rng, frames, code_maps, objects in videos:
            name = f'{index + 1}_{_video_name("vipseg", split, index, seed)}'
            names.append(name)
            for t, (frame, codes) in enumerate(zip(frames, _vipseg_codes(code_maps, objects,
                                                                         rng))):
                stem = f'{t:08d}'
                write_jpeg(base / 'imgs' / name / f'{stem}.jpg',
                           cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR))
                png = base / 'panomasks' / name / f'{stem}.png'
                png.parent.mkdir(parents=True, exist_ok=True)
                if not cv2.imwrite(str(png), codes):
                    raise OSError(f'cannot write {png}')
        (base / f'{split}.txt').write_text('\n'.join(names) + '\n')
        counts[split] = len(videos)
        log(f'vipseg: {split}: {len(videos)} videos -> {base / f"{split}.txt"}')
    return counts


def _davis_ids(objects: Sequence[dict], frame_count: int, height: int, width: int
               ) -> List[np.ndarray]:
    """Object-id maps: objects visible in the first frame get ids 1..n first (VOS)."""
    order = sorted(range(len(objects)), key=lambda i: (objects[i]['masks'][0] is None, i))
    maps = []
    for t in range(frame_count):
        ids = np.zeros((height, width), np.uint8)
        for rank, index in enumerate(order, start=1):
            if objects[index]['masks'][t] is not None:
                ids[objects[index]['masks'][t]] = rank
        maps.append(ids)
    return maps


def _write_palette_png(path: Path, ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(ids, mode='P')
    image.putpalette(_davis_palette())
    image.save(path)


def write_davis(root: Path, seed: int, log: Log) -> Dict[str, int]:
    """``DAVIS/``: ``ImageSets/2017/{train,val}.txt`` and ``JPEGImages`` / ``Annotations``
    (palette PNGs of object ids) at ``480p`` (64x96 here) and ``Full-Resolution`` (2x)."""
    base = root / 'DAVIS'
    counts = {}
    for split, videos in _render_videos('davis', seed).items():
        names = []
        for index, _, frames, _, objects in videos:
            name = f'{split}-sequence-{index + 1}'
            names.append(name)
            height, width = frames[0].shape[:2]
            id_maps = _davis_ids(objects, len(frames), height, width)
            for resolution, scale in (('480p', 1), ('Full-Resolution',
                                                    DAVIS_FULL_RESOLUTION_SCALE)):
                size = (width * scale, height * scale)
                for t, (frame, ids) in enumerate(zip(frames, id_maps)):
                    write_jpeg(base / 'JPEGImages' / resolution / name / f'{t:05d}.jpg',
                               cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR))
                    _write_palette_png(base / 'Annotations' / resolution / name / f'{t:05d}.png',
                                       cv2.resize(ids, size, interpolation=cv2.INTER_NEAREST))
        sets = base / 'ImageSets' / '2017'
        sets.mkdir(parents=True, exist_ok=True)
        (sets / f'{split}.txt').write_text('\n'.join(names) + '\n')
        counts[split] = len(videos)
        log(f'davis: {split}: {len(videos)} sequences -> {sets / f"{split}.txt"}')
    return counts
