"""The shared evaluation case (tests/data/eval_v1: official files + official numbers) and the
data samples the metric classes would receive for it."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from seg.evaluation.functional import read_label_png
from seg.structures.panoptic_io import read_panoptic_png

CASE = Path(__file__).resolve().parents[1] / 'data' / 'eval_v1'


def assert_close(actual, expected, tol, what=''):
    """Recursively compare numbers of nested dicts / lists (expected `None` = NaN)."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f'{what}: missing key {key!r}'
            assert_close(actual[key], value, tol, f'{what}.{key}')
    elif isinstance(expected, list):
        assert len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, tol, f'{what}[{i}]')
    elif expected is None:
        assert actual is None or np.isnan(actual), what
    elif isinstance(expected, str):
        assert actual == expected, what
    else:
        assert abs(actual - expected) <= tol, f'{what}: {actual} != {expected}'


@pytest.fixture(scope='session')
def case() -> Path:
    return CASE


@pytest.fixture(scope='session')
def expected() -> dict:
    return json.loads((CASE / 'expected.json').read_text())


@pytest.fixture(scope='session')
def panoptic_meta() -> dict:
    """dataset_meta of the panoptic case (its json lists things first)."""
    categories = json.loads((CASE / 'coco_panoptic' / 'panoptic_gt.json').read_text())[
        'categories']
    things = [c['name'] for c in categories if c['isthing']]
    stuff = [c['name'] for c in categories if not c['isthing']]
    return {'classes': things + stuff, 'thing_classes': things, 'stuff_classes': stuff,
            'category_ids': [c['id'] for c in categories], 'num_things_classes': len(things),
            'num_stuff_classes': len(stuff)}


def _label_map_from_official(ids: np.ndarray, segments: list, meta: dict) -> np.ndarray:
    """The model's panoptic encoding (label + instance * 1000, void = num_classes)."""
    num_classes = len(meta['classes'])
    encoded = np.full(ids.shape, num_classes, np.int32)
    for instance, segment in enumerate(segments, start=1):
        label = meta['category_ids'].index(segment['category_id'])
        is_thing = label < meta['num_things_classes']
        encoded[ids == segment['id']] = label + (instance * 1000 if is_thing else 0)
    return encoded


@pytest.fixture(scope='session')
def image_samples(panoptic_meta) -> list:
    """One `SegDataSample.to_dict()`-like dict per image of the case, with predictions."""
    gt = json.loads((CASE / 'coco_panoptic' / 'panoptic_gt.json').read_text())
    pred = {a['image_id']: a for a in json.loads(
        (CASE / 'coco_panoptic' / 'panoptic_pred.json').read_text())['annotations']}
    instances = json.loads((CASE / 'coco_instance' / 'instances_pred.json').read_text())
    samples = []
    for image, annotation in zip(gt['images'], gt['annotations']):
        image_id = image['id']
        shape = (image['height'], image['width'])
        pred_ids = read_panoptic_png(CASE / 'coco_panoptic' / 'panoptic_pred' /
                                     pred[image_id]['file_name'])
        encoded = _label_map_from_official(pred_ids, pred[image_id]['segments_info'],
                                           panoptic_meta)
        detections = [d for d in instances if d['image_id'] == image_id]
        masks = np.stack([mask_utils.decode(d['segmentation']) for d in detections]).astype(bool)
        labels = [panoptic_meta['category_ids'].index(d['category_id']) for d in detections]
        sem_pred = read_label_png(CASE / 'semseg' / 'pred' / annotation['file_name'])
        samples.append({
            'img_id': image_id, 'img_path': image['file_name'], 'ori_shape': shape,
            'seg_map_path': str(CASE / 'coco_panoptic' / 'panoptic_gt' / annotation['file_name']),
            'segments_info': annotation['segments_info'],
            'pred_panoptic_seg': {'sem_seg': torch.from_numpy(encoded)[None]},
            'pred_instances': {'masks': torch.from_numpy(masks),
                               'labels': torch.tensor(labels, dtype=torch.int64),
                               'scores': torch.tensor([d['score'] for d in detections])},
            'pred_sem_seg': {'sem_seg': torch.from_numpy(sem_pred.astype(np.int64))[None]}})
    return samples


@pytest.fixture(scope='session')
def semantic_gt() -> dict:
    """The case's semantic GT label maps (255 = ignore) by file name."""
    return {path.name: read_label_png(path) for path in sorted((CASE / 'semseg' / 'gt').glob(
        '*.png'))}


@pytest.fixture(scope='session')
def vipseg_meta() -> dict:
    categories = json.loads((CASE / 'vipseg' / 'panoptic_gt_VIPSeg_val.json').read_text())[
        'categories']
    ordered = [c for c in categories if c['isthing']] + [c for c in categories
                                                         if not c['isthing']]
    return {'classes': [c['name'] for c in ordered], 'category_ids': [c['id'] for c in ordered],
            'num_things_classes': sum(c['isthing'] for c in categories)}


@pytest.fixture(scope='session')
def video_samples() -> list:
    """One dict per VIPSeg video: GT / predicted id maps and segment lists."""
    gt = json.loads((CASE / 'vipseg' / 'panoptic_gt_VIPSeg_val.json').read_text())
    pred = {v['video_id']: v['annotations'] for v in json.loads(
        (CASE / 'vipseg' / 'submit' / 'pred.json').read_text())['annotations']}
    gt_frames = {v['video_id']: v['annotations'] for v in gt['annotations']}
    samples = []
    for video in gt['videos']:
        name = video['video_id']
        files = [image['file_name'] for image in video['images']]
        samples.append({
            'video_id': name,
            'gt_panoptic': np.stack([read_panoptic_png(CASE / 'vipseg' / 'panomasksRGB' / name / f)
                                     for f in files]),
            'gt_segments_info': [f['segments_info'] for f in gt_frames[name]],
            'pred_panoptic': torch.from_numpy(np.stack([read_panoptic_png(
                CASE / 'vipseg' / 'submit' / 'pan_pred' / name / f) for f in files]).astype(
                    np.int64)),
            'pred_segments_info': [f['segments_info'] for f in pred[name]]})
    return samples
