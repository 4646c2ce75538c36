"""Cityscapes: gtFine -> panoptic conversion, CityscapesPanopticDataset, PQ of the GT."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seg.datasets import CityscapesPanopticDataset
from seg.datasets.cityscapes_conversion import convert_cityscapes_split
from seg.datasets.cityscapes_labels import (CITYSCAPES_LABELS, CITYSCAPES_STUFF_CLASSES,
                                            CITYSCAPES_THING_CLASSES)
from seg.evaluation.metrics import CityscapesPanopticMetric
from seg.structures.panoptic_io import read_panoptic_png
from seg.testing.miniature.cityscapes_gtfine import (miniature_expected_segments,
                                                     write_miniature_gtfine)
from seg.utils.constants import INSTANCE_OFFSET, VOID_LABEL

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
            dict(type='PackSegInputs')]
LABEL_OF_NAME = {label.name: label for label in CITYSCAPES_LABELS}


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """A 2-city miniature (2 frames per city, train + val) converted with train ids."""
    root = tmp_path_factory.mktemp('cityscapes')
    records = write_miniature_gtfine(root)
    for split in ('train', 'val'):
        convert_cityscapes_split(root, split, log=None)
    return root, records


def load_json(root: Path, split: str, suffix: str = '_trainId') -> dict:
    return json.loads((root / 'annotations' / f'cityscapes_panoptic_{split}{suffix}.json')
                      .read_text())


def build(root: Path, split: str = 'val', **kwargs) -> CityscapesPanopticDataset:
    return CityscapesPanopticDataset(
        data_root=str(root), ann_file=f'annotations/cityscapes_panoptic_{split}_trainId.json',
        data_prefix=dict(img=f'leftImg8bit/{split}/',
                         seg=f'annotations/cityscapes_panoptic_{split}_trainId/'),
        test_mode=True, **kwargs)


def test_converter_writes_ids_areas_boxes_crowd_and_train_ids(converted):
    root, records = converted
    content = load_json(root, 'val')
    val_records = [record for record in records if record['split'] == 'val']
    assert [image['id'] for image in content['images']] == [r['stem'] for r in val_records]
    assert content['images'][0] == dict(id='aachen_000000_000019', width=64, height=32,
                                        file_name='aachen_000000_000019_leftImg8bit.png')
    for record, ann in zip(val_records, content['annotations']):
        assert ann['image_id'] == record['stem']
        assert ann['file_name'] == record['stem'] + '_gtFine_panoptic.png'
        segments = {segment['id']: segment for segment in ann['segments_info']}
        assert segments == miniature_expected_segments(record)
        # Things drawn as rectangles: spot-check values independent of the helper.
        assert segments[26001] == dict(id=26001, category_id=13, area=7 * 7,
                                       bbox=[13, 16, 7, 7], iscrowd=0)
        assert segments[24]['iscrowd'] == 1 and segments[24]['category_id'] == 11
        assert segments[7]['category_id'] == 0 and segments[7]['iscrowd'] == 0
        assert 29000 not in segments and 1 not in segments  # caravan, ego vehicle: void
        ids = read_panoptic_png(root / 'annotations' / 'cityscapes_panoptic_val_trainId'
                                / ann['file_name'])
        kept = np.isin(record['instance_ids'], list(segments))
        np.testing.assert_array_equal(ids, np.where(kept, record['instance_ids'], 0))
    categories = content['categories']
    assert [cat['id'] for cat in categories] == list(range(19))
    assert [cat['name'] for cat in categories if cat['isthing']] == list(CITYSCAPES_THING_CLASSES)
    assert sum(cat['isthing'] for cat in categories) == 8
    assert categories[0] == dict(id=0, name='road', color=[128, 64, 128], supercategory='flat',
                                 isthing=0)


def test_label_ids_variant(tmp_path):
    records = write_miniature_gtfine(tmp_path, splits=('val',), cities=('ulm',),
                                     frames_per_city=1)
    convert_cityscapes_split(tmp_path, 'val', use_train_id=False, log=None)
    content = load_json(tmp_path, 'val', suffix='')
    assert {cat['id'] for cat in content['categories']} == {
        label.label_id for label in CITYSCAPES_LABELS if not label.ignore_in_eval}
    segments = {s['id']: s for s in content['annotations'][0]['segments_info']}
    assert segments == miniature_expected_segments(records[0], use_train_id=False)
    assert segments[26000]['category_id'] == 26
    assert (tmp_path / 'annotations' / 'cityscapes_panoptic_val' /
            'ulm_000000_000019_gtFine_panoptic.png').is_file()


def test_dataset_has_8_things_11_stuff_and_city_image_paths(converted):
    root, _ = converted
    dataset = build(root)
    meta = dataset.metainfo
    assert meta['thing_classes'] == CITYSCAPES_THING_CLASSES
    assert meta['stuff_classes'] == CITYSCAPES_STUFF_CLASSES
    assert (meta['num_things_classes'], meta['num_stuff_classes']) == (8, 11)
    assert meta['category_ids'] == tuple(range(11, 19)) + tuple(range(11))
    assert len(dataset) == 4
    info = dataset.get_data_info(2)
    assert info['img_path'] == str(root / 'leftImg8bit' / 'val' / 'bremen' /
                                   'bremen_000001_000019_leftImg8bit.png')
    assert Path(info['img_path']).is_file()
    assert len(build(root, 'train')) == 4


def test_loaded_masks_labels_and_semantic_map_match_the_drawing(converted):
    root, records = converted
    dataset = build(root, pipeline=PIPELINE)
    classes = dataset.metainfo['classes']
    val_records = [record for record in records if record['split'] == 'val']
    for index, record in enumerate(val_records):
        sample = dataset[index]['data_samples']
        expected_masks, expected_labels = [], []
        expected_sem = np.full(record['instance_ids'].shape, VOID_LABEL, np.int64)
        # Segments (and so masks) come in segment-id order, as the converter lists them.
        for obj in sorted(record['objects'], key=lambda obj: obj['value']):
            label = LABEL_OF_NAME[obj['name'].replace('group', '')]
            region = record['instance_ids'] == obj['value']
            if label.ignore_in_eval or obj['name'].endswith('group'):
                continue  # void / crowd pixels
            expected_sem[region] = classes.index(label.name)
            if label.has_instances:
                x0, y0, x1, y1 = obj['box']
                mask = np.zeros_like(region)
                mask[y0:y1, x0:x1] = True
                expected_masks.append(mask)
                expected_labels.append(classes.index(label.name))
        np.testing.assert_array_equal(sample.gt_instances.masks.numpy(),
                                      np.stack(expected_masks))
        assert sample.gt_instances.labels.tolist() == expected_labels
        np.testing.assert_array_equal(sample.gt_sem_seg.sem_seg[0].numpy(), expected_sem)
    assert set(dataset[1]['data_samples'].gt_instances.labels.tolist()) == {0, 2, 7}


def test_official_converter_file_names_are_accepted(converted, tmp_path):
    root, _ = converted
    content = load_json(root, 'val')
    for image in content['images']:  # createPanopticImgs keeps "_gtFine" in the image name
        image['file_name'] = image['file_name'].replace('_leftImg8bit', '_gtFine_leftImg8bit')
    ann_file = tmp_path / 'official.json'
    ann_file.write_text(json.dumps(content))
    dataset = CityscapesPanopticDataset(
        data_root=str(root), ann_file=str(ann_file), test_mode=True,
        data_prefix=dict(img='leftImg8bit/val/',
                         seg='annotations/cityscapes_panoptic_val_trainId/'))
    assert dataset.get_data_info(0)['img_path'] == build(root).get_data_info(0)['img_path']
    content['images'][0]['file_name'] = 'noprefix.png'
    ann_file.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r'official\.json: image aachen_000000_000019.*'
                                         '"<city>_"'):
        CityscapesPanopticDataset(data_root=str(root), ann_file=str(ann_file), test_mode=True)


def test_ground_truth_as_prediction_scores_pq_100(converted):
    root, _ = converted
    dataset = build(root, pipeline=PIPELINE)
    metric = CityscapesPanopticMetric()
    metric.dataset_meta = dataset.metainfo
    num_classes = len(dataset.metainfo['classes'])
    samples = []
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        ids = read_panoptic_png(sample.seg_map_path)
        prediction = np.full(ids.shape, num_classes, np.int64)
        for instance, segment in enumerate(sample.segments_info, 1):
            if not segment['iscrowd']:
                prediction[ids == segment['id']] = segment['label'] + instance * INSTANCE_OFFSET
        sample = sample.to_dict()
        sample['pred_panoptic_seg'] = dict(sem_seg=torch.from_numpy(prediction[None]))
        samples.append(sample)
    metric.process({}, samples)
    result = metric.compute_metrics(metric.results)
    assert result['PQ'] == pytest.approx(1.0)
    assert result['PQ_th'] == pytest.approx(1.0) and result['PQ_st'] == pytest.approx(1.0)


def test_missing_gtfine_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'gtFine folder not found: .*gtFine/val'):
        convert_cityscapes_split(tmp_path, 'val', log=None)
    (tmp_path / 'gtFine' / 'val' / 'ulm').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='no \\*_gtFine_instanceIds.png files'):
        convert_cityscapes_split(tmp_path, 'val', log=None)
