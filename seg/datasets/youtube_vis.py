"""YouTube-VIS 2019 / 2021 (and other COCO-video jsons) for video instance segmentation.

Reads the COCO-video json written by ``tools/dataset_converters/vis_to_coco.py`` from the
official files (the format the reference's ``YouTubeVISDatasetV2`` reads)::

    {'videos': [{'id', 'name', 'width', 'height'}],
     'images': [{'id', 'file_name', 'video_id', 'frame_id', 'height', 'width'}],
     'annotations': [{'id', 'video_id', 'image_id', 'category_id', 'instance_id',
                      'segmentation', 'iscrowd', ...}],       # absent for valid / test
     'categories': [{'id', 'name'}]}

All classes are things. Masks are decoded per frame (polygons or RLE, pycocotools).
"""
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Tuple

import numpy as np
from pycocotools import mask as mask_utils

from seg.registry import DATASETS
from seg.utils.json_files import read_json
from .video_dataset import BaseVideoDataset


def decode_segmentation(segmentation, height: int, width: int, where: str) -> np.ndarray:
    """(H, W) uint8 mask of a COCO segmentation: polygon list, RLE (counts list or string)."""
    if isinstance(segmentation, list):
        if not segmentation:
            return np.zeros((height, width), np.uint8)
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation, dict) and 'counts' in segmentation and 'size' in segmentation:
        if list(segmentation['size']) != [height, width]:
            raise ValueError(f'{where}: mask size {segmentation["size"]} differs from the '
                             f'frame size {[height, width]}')
        rle = (mask_utils.frPyObjects(segmentation, height, width)
               if isinstance(segmentation['counts'], list) else segmentation)
    else:
        raise ValueError(f'{where}: unsupported segmentation of type '
                         f'{type(segmentation).__name__} (expected polygons or RLE)')
    return mask_utils.decode(rle).astype(np.uint8)


def load_ytvis_frame(results: dict) -> dict:
    """Frame annotations of the ``ytvis`` format as pipeline targets (thing masks only)."""
    height, width = results['height'], results['width']
    loaded = results.get('ori_shape')
    if loaded is not None and tuple(loaded[:2]) != (height, width):
        raise ValueError(f'{results["img_path"]} has size {tuple(loaded[:2])} but the json '
                         f'gives {(height, width)}')
    masks, labels, ids = [], [], []
    for index, instance in enumerate(results['instances']):
        if instance['iscrowd']:
            continue  # no crowd objects in YouTube-VIS; kept out of the targets if present
        where = f'{results["img_path"]}, instance {index}'
        masks.append(decode_segmentation(instance['segmentation'], height, width, where))
        labels.append(instance['label'])
        ids.append(instance['instance_id'])
    results['gt_masks'] = (np.stack(masks) if masks
                           else np.zeros((0, height, width), np.uint8))
    results['gt_labels'] = np.asarray(labels, np.int64)
    results['gt_instance_ids'] = np.asarray(ids, np.int64)
    return results


def _require(record: dict, keys, where: str, ann_file: str) -> None:
    for key in keys:
        if not isinstance(record, dict) or key not in record:
            raise KeyError(f'{ann_file}: {where} has no key "{key}"')


@DATASETS.register_module()
class YouTubeVISDataset(BaseVideoDataset):
    """YouTube-VIS in the COCO-video layout.

    Args:
        ann_file: e.g. ``annotations/youtube_vis_2019_train.json`` (relative to data_root).
        data_prefix: ``img``: frame folder, e.g. ``train/JPEGImages/``.
        Others: see ``BaseVideoDataset`` (``filter_cfg.filter_empty_gt`` drops videos without
        annotations).
    """
    ANN_FORMAT = 'ytvis'

    @classmethod
    def default_data_prefix(cls) -> dict:
        return dict(img='train/JPEGImages/')

    def _content(self) -> dict:
        if getattr(self, '_json', None) is None:
            content = read_json(self.ann_file, 'YouTube-VIS annotation file')
            if not isinstance(content, dict):
                raise ValueError(f'{self.ann_file}: expected a json object')
            if 'images' not in content and content.get('videos') and \
                    'file_names' in content['videos'][0]:
                raise ValueError(f'{self.ann_file} is an official YouTube-VIS json; convert it '
                                 'with tools/dataset_converters/vis_to_coco.py first')
            for key in ('videos', 'images', 'categories'):
                if not isinstance(content.get(key), list):
                    raise KeyError(f'{self.ann_file}: missing list "{key}"')
            self._json = content
        return self._json

    def read_categories(self) -> Tuple[List[dict], str]:
        categories = [dict(category, isthing=1) for category in self._content()['categories']]
        return categories, self.ann_file

    def load_data_list(self) -> List[dict]:
        content, ann_file = self._content(), self.ann_file
        self._json = None
        label_table = self.label_table()
        videos = {}
        for index, video in enumerate(content['videos']):
            _require(video, ('id', 'name'), f'videos[{index}]', ann_file)
            if video['id'] in videos:
                raise ValueError(f'{ann_file}: videos[{index}] repeats video id {video["id"]}')
            videos[video['id']] = video
        frames_of: Dict[int, List[dict]] = defaultdict(list)
        frame_of_image = {}
        for index, image in enumerate(content['images']):
            where = f'images[{index}]'
            _require(image, ('id', 'file_name', 'video_id', 'frame_id', 'height', 'width'),
                     where, ann_file)
            if image['video_id'] not in videos:
                raise KeyError(f'{ann_file}: {where} refers to unknown video_id '
                               f'{image["video_id"]}')
            if image['id'] in frame_of_image:
                raise ValueError(f'{ann_file}: {where} repeats image id {image["id"]}')
            frame = dict(img_path=osp.join(self.data_prefix['img'], image['file_name']),
                         img_id=image['id'], frame_id=image['frame_id'],
                         height=image['height'], width=image['width'], instances=[])
            frame_of_image[image['id']] = frame
            frames_of[image['video_id']].append(frame)
        for index, ann in enumerate(content.get('annotations', [])):
            where = f'annotations[{index}]'
            _require(ann, ('image_id', 'category_id', 'instance_id', 'segmentation'), where,
                     ann_file)
            if ann['image_id'] not in frame_of_image:
                raise KeyError(f'{ann_file}: {where} refers to unknown image_id '
                               f'{ann["image_id"]}')
            if ann['category_id'] not in label_table:
                if any(c['id'] == ann['category_id'] for c in content['categories']):
                    continue  # a class left out by metainfo
                raise KeyError(f'{ann_file}: {where} has category_id {ann["category_id"]}, '
                               'which is not in "categories"')
            frame_of_image[ann['image_id']]['instances'].append(dict(
                instance_id=ann['instance_id'], label=label_table[ann['category_id']][0],
                segmentation=ann['segmentation'], iscrowd=int(ann.get('iscrowd', 0))))
        data_list = []
        for video_id, video in videos.items():
            frames = sorted(frames_of[video_id], key=lambda frame: frame['frame_id'])
            if [f['frame_id'] for f in frames] != list(range(len(frames))):
                raise ValueError(f'{ann_file}: frame_ids of video {video_id} are not 0..T-1')
            data_list.append(self.video_info(video_id, video['name'], frames))
        return data_list

    def has_objects(self, info: dict) -> bool:
        return any(frame['instances'] for frame in info['frames'])


def official_to_coco_video(official: dict, where: str) -> dict:
    """Convert an official YouTube-VIS json (videos with ``file_names``, one annotation per
    track with per-frame ``segmentations``) to the COCO-video layout this dataset reads.

    As the reference's ``vis_to_coco``: images get running ids over the file, a track becomes
    one annotation per frame where it is present (its segmentation / bbox is not null), with a
    running ``instance_id`` per track. Splits without annotations (valid / test) keep only
    videos and images.
    """
    for key in ('videos', 'categories'):
        if not isinstance(official.get(key), list):
            raise KeyError(f'{where}: missing list "{key}" (not an official YouTube-VIS json?)')
    tracks_of = {}
    for index, track in enumerate(official.get('annotations') or []):
        for key in ('id', 'video_id', 'category_id', 'segmentations'):
            if key not in track:
                raise KeyError(f'{where}: annotations[{index}] has no "{key}"')
        tracks_of.setdefault(track['video_id'], []).append(track)
    converted = dict(videos=[], images=[], annotations=[],
                     categories=[dict(c) for c in official['categories']])
    image_id = annotation_id = 1
    instance_of_track = {}
    for index, video in enumerate(official['videos']):
        for key in ('id', 'file_names', 'width', 'height'):
            if key not in video:
                raise KeyError(f'{where}: videos[{index}] has no "{key}"')
        file_names = video['file_names']
        if not file_names:
            raise ValueError(f'{where}: video {video["id"]} has no frames')
        converted['videos'].append(dict(id=video['id'], name=file_names[0].split('/')[0],
                                        width=video['width'], height=video['height']))
        tracks = tracks_of.get(video['id'], [])
        for track in tracks:
            if len(track['segmentations']) != len(file_names):
                raise ValueError(f'{where}: track {track["id"]} has '
                                 f'{len(track["segmentations"])} segmentations for '
                                 f'{len(file_names)} frames of video {video["id"]}')
        for frame_id, file_name in enumerate(file_names):
            converted['images'].append(dict(id=image_id, file_name=file_name, frame_id=frame_id,
                                            video_id=video['id'], height=video['height'],
                                            width=video['width']))
            for track in tracks:
                segmentation = track['segmentations'][frame_id]
                bboxes = track.get('bboxes')
                if segmentation is None or (bboxes is not None and bboxes[frame_id] is None):
                    continue
                instance_id = instance_of_track.setdefault(track['id'],
                                                           len(instance_of_track) + 1)
                areas = track.get('areas')
                converted['annotations'].append(dict(
                    id=annotation_id, video_id=video['id'], image_id=image_id,
                    category_id=track['category_id'], instance_id=instance_id,
                    segmentation=segmentation,
                    area=areas[frame_id] if areas is not None else None,
                    bbox=bboxes[frame_id] if bboxes is not None else None,
                    iscrowd=int(track.get('iscrowd', 0))))
                annotation_id += 1
            image_id += 1
    return converted
