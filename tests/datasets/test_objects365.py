"""Objects365InstanceDataset: official v2 layout, box-only opt-in, pseudo masks, alias."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from seg.datasets import Objects365InstanceDataset
from seg.datasets.objects365 import Objects365V2InsDataset, objects365_relative_path
from seg.registry import DATASETS

HEIGHT, WIDTH = 10, 14
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadInstanceAnnotations'),
            dict(type='PackSegInputs')]
FILE_NAMES = ['images/v1/patch8/objects365_v1_00420917.jpg',
              'images/v2/patch3/objects365_v2_00000042.jpg',
              'images/v2/patch16/objects365_v2_00908726.jpg']  # known missing from the release


def write_objects365(root: Path, with_masks: bool = False) -> None:
    """An official-style v2 train json (boxes, iscrowd, isfake...) and the patch folders."""
    images = [dict(id=i + 1, file_name=name, height=HEIGHT, width=WIDTH)
              for i, name in enumerate(FILE_NAMES)]
    annotations = [
        dict(id=1, image_id=1, category_id=1, bbox=[1, 2, 4, 3], area=12, iscrowd=0, isfake=0,
             isreflected=0),
        dict(id=2, image_id=1, category_id=2, bbox=[6, 1, 5, 6], area=30, iscrowd=0, isfake=0,
             isreflected=0),
        dict(id=3, image_id=2, category_id=2, bbox=[0, 0, 3, 3], area=9, iscrowd=0, isfake=0,
             isreflected=0),
        dict(id=4, image_id=3, category_id=1, bbox=[0, 0, 2, 2], area=4, iscrowd=0, isfake=0,
             isreflected=0),
    ]
    if with_masks:  # a pseudo-mask json adds polygons (a triangle for annotation 1)
        for ann in annotations:
            x, y, w, h = ann['bbox']
            ann['segmentation'] = [[x, y, x + w, y, x, y + h]]
    categories = [dict(id=1, name='Person'), dict(id=2, name='Sneakers')]
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    (root / 'annotations' / 'zhiyuan_objv2_train.json').write_text(json.dumps(dict(
        images=images, annotations=annotations, categories=categories)))
    for name in FILE_NAMES[:2]:
        path = root / 'train' / objects365_relative_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((HEIGHT, WIDTH, 3), 128, np.uint8))


def build(root: Path, **kwargs) -> Objects365InstanceDataset:
    return Objects365InstanceDataset(data_root=str(root), test_mode=True, **kwargs)


def test_official_box_only_json_needs_the_explicit_opt_in(tmp_path):
    write_objects365(tmp_path)
    with pytest.raises(ValueError, match=r'zhiyuan_objv2_train\.json.*annotation id 1.*'
                                         'boxes_as_masks'):
        build(tmp_path)
    dataset = build(tmp_path, boxes_as_masks=True, pipeline=PIPELINE)
    assert len(dataset) == 2  # the known-missing image is dropped
    assert dataset.get_data_info(0)['img_path'] == str(
        tmp_path / 'train' / 'patch8' / 'objects365_v1_00420917.jpg')
    assert dataset.metainfo['classes'] == ('Person', 'Sneakers')
    assert dataset.metainfo['num_stuff_classes'] == 0
    sample = dataset[0]['data_samples']
    expected = np.zeros((2, HEIGHT, WIDTH), bool)
    expected[0, 2:5, 1:5] = True
    expected[1, 1:7, 6:11] = True
    np.testing.assert_array_equal(sample.gt_instances.masks.numpy(), expected)
    assert sample.gt_instances.labels.tolist() == [0, 1]


def test_pseudo_mask_json_gives_its_masks(tmp_path):
    write_objects365(tmp_path, with_masks=True)
    sample = build(tmp_path, pipeline=PIPELINE)[0]['data_samples']
    masks = sample.gt_instances.masks.numpy()
    box = np.zeros((HEIGHT, WIDTH), bool)
    box[2:5, 1:5] = True
    assert masks[0].sum() < box.sum() and not (masks[0] & ~box).any()  # a triangle in its box


def test_reference_name_is_a_registry_alias(tmp_path):
    write_objects365(tmp_path)
    assert Objects365V2InsDataset is Objects365InstanceDataset
    assert DATASETS.get('Objects365V2InsDataset') is Objects365InstanceDataset
    dataset = DATASETS.build(dict(type='Objects365V2InsDataset', data_root=str(tmp_path),
                                  boxes_as_masks=True, test_mode=True))
    assert isinstance(dataset, Objects365InstanceDataset)
    assert dataset.metainfo['dataset_name'] == 'Objects365InstanceDataset'


def test_relative_path_of_official_and_short_names():
    assert objects365_relative_path('images/v1/patch8/a.jpg') == 'patch8/a.jpg'
    assert objects365_relative_path('patch0/b.jpg') == 'patch0/b.jpg'
    with pytest.raises(ValueError, match='no patch folder'):
        objects365_relative_path('c.jpg')
