"""Video model outputs (``TrackSegDataSample.to_dict()``) in the formats of the video metrics.

The model writes per-frame results into the frame samples (``video_data_samples``): panoptic
maps ``label + id * INSTANCE_OFFSET`` with video-stable ids, VOS id maps, and the loaded
ground truth. The VIPSeg metric reads segment-id maps with json ``segments_info`` and the DAVIS
metric object-index maps; these helpers convert, and leave samples already in those formats
untouched. ``write_youtube_vis_submission`` packs a results json as the evaluation server
expects (a zip holding ``results.json``).
"""
import zipfile
from typing import Dict, List, Sequence

import numpy as np

from seg.utils.constants import INSTANCE_OFFSET

from ..functional.formats import to_numpy
from .utils import sample_field


def _frame_map(frame: dict, key: str, where: str, shape=None) -> np.ndarray:
    value = to_numpy(sample_field(sample_field(frame, key, where), 'sem_seg', f'{where}.{key}'))
    value = value.reshape(value.shape[-2:])
    if shape is not None:  # targets padded with the image (when no resize happened)
        value = value[:shape[0], :shape[1]]
    return value


def _segments(ids: np.ndarray, category_ids: Sequence[int], with_gt_fields: bool) -> List[dict]:
    segments = []
    values, areas = np.unique(ids, return_counts=True)
    for segment_id, area in zip(values.tolist(), areas.tolist()):
        if segment_id == 0:
            continue
        segment = {'id': segment_id,
                   'category_id': category_ids[(segment_id - 1) % INSTANCE_OFFSET]}
        if with_gt_fields:
            segment.update(iscrowd=0, area=area)
        segments.append(segment)
    return segments


def vipseg_fields(sample: dict, meta: dict) -> dict:
    """Add ``gt_panoptic`` / ``pred_panoptic`` (T, H, W) segment-id maps (0 = void) and their
    ``segments_info`` to a video sample dict; segment id = panoptic value + 1 with the thing
    ids of the ground truth numbered per video by instance id."""
    if 'pred_panoptic' in sample or 'video_data_samples' not in sample:
        return sample
    where = f'video {sample.get("video_id")}'
    frames = sample['video_data_samples']
    category_ids = list(meta['category_ids'])
    num_things, num_classes = int(meta['num_things_classes']), len(category_ids)
    all_ids = sorted({int(i) for frame in frames
                      for i in to_numpy(frame['gt_instances']['instances_ids']).tolist()})
    rank = {instance_id: position + 1 for position, instance_id in enumerate(all_ids)}
    gt_maps, pred_maps, gt_segments, pred_segments = [], [], [], []
    for t, frame in enumerate(frames):
        frame_where = f'{where}, frame {t}'
        pred = _frame_map(frame, 'pred_panoptic_seg', frame_where).astype(np.int64)
        shape = pred.shape
        gt = np.zeros(shape, np.int64)
        if 'gt_sem_seg' in frame:
            semantic = _frame_map(frame, 'gt_sem_seg', frame_where, shape)
            stuff = (semantic >= num_things) & (semantic < num_classes)
            gt[stuff] = semantic[stuff] + 1
        instances = sample_field(frame, 'gt_instances', frame_where)
        for label, mask, instance_id in zip(to_numpy(instances['labels']).tolist(),
                                            to_numpy(instances['masks']).astype(bool),
                                            to_numpy(instances['instances_ids']).tolist()):
            gt[mask[:shape[0], :shape[1]]] = label + 1 + rank[int(instance_id)] * INSTANCE_OFFSET
        pred_ids = np.where(pred % INSTANCE_OFFSET >= num_classes, 0, pred + 1)
        gt_maps.append(gt)
        pred_maps.append(pred_ids)
        gt_segments.append(_segments(gt, category_ids, with_gt_fields=True))
        pred_segments.append(_segments(pred_ids, category_ids, with_gt_fields=False))
    return dict(sample, gt_panoptic=np.stack(gt_maps), pred_panoptic=np.stack(pred_maps),
                gt_segments_info=gt_segments, pred_segments_info=pred_segments)


def davis_fields(sample: dict) -> dict:
    """Add ``sequence``, ``gt_masks`` and ``pred_masks`` (T, H, W) object-index maps: the
    objects are the first frame's GT instances, numbered 1..N by instance id."""
    if 'pred_masks' in sample or 'video_data_samples' not in sample:
        return sample
    where = f'video {sample.get("video_id")}'
    frames = sample['video_data_samples']
    first = sample_field(frames[0], 'gt_instances', f'{where}, frame 0')
    objects = sorted(int(i) for i in to_numpy(first['instances_ids']).tolist())
    index_of: Dict[int, int] = {instance_id: k + 1 for k, instance_id in enumerate(objects)}
    gt_maps, pred_maps = [], []
    for t, frame in enumerate(frames):
        frame_where = f'{where}, frame {t}'
        pred = _frame_map(frame, 'pred_vos_seg', frame_where).astype(np.int64)
        values, inverse = np.unique(pred, return_inverse=True)
        mapped = np.array([index_of.get(int(v), 0) for v in values.tolist()], np.int64)
        pred_maps.append(mapped[inverse].reshape(pred.shape))
        gt = np.zeros(pred.shape, np.int64)
        instances = sample_field(frame, 'gt_instances', frame_where)
        for mask, instance_id in zip(to_numpy(instances['masks']).astype(bool),
                                     to_numpy(instances['instances_ids']).tolist()):
            if int(instance_id) in index_of:
                gt[mask[:pred.shape[0], :pred.shape[1]]] = index_of[int(instance_id)]
        gt_maps.append(gt)
    sequence = sample.get('sequence', sample.get('video_name', sample.get('video_id')))
    return dict(sample, sequence=sequence, gt_masks=np.stack(gt_maps),
                pred_masks=np.stack(pred_maps))


def crop_targets_to_prediction(frame: dict, pred_key: str) -> dict:
    """A frame dict whose ``gt_sem_seg`` is cropped to the size of its ``pred_key`` map (the
    data preprocessor pads targets that had the image's size)."""
    if 'gt_sem_seg' not in frame:
        return frame
    height, width = np.shape(frame[pred_key]['sem_seg'])[-2:]
    sem_seg = frame['gt_sem_seg']['sem_seg'][..., :height, :width]
    return dict(frame, gt_sem_seg=dict(frame['gt_sem_seg'], sem_seg=sem_seg))


def write_youtube_vis_submission(results_json: str, zip_path: str) -> None:
    """Zip a YouTube-VIS results json as ``results.json`` (the server's expected layout)."""
    with zipfile.ZipFile(zip_path, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(results_json, arcname='results.json')
