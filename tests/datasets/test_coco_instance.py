"""CocoInstanceDataset + LoadInstanceAnnotations: polygons, RLE, crowd, classes, bad json."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from seg.datasets import CocoInstanceDataset
from seg.models.heads.panoptic_targets import panoptic_targets
from seg.registry import DATASETS
from seg.utils.constants import VOID_LABEL

HEIGHT, WIDTH = 12, 16
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadInstanceAnnotations'),
            dict(type='PackSegInputs')]


def rectangle(x0, y0, x1, y1):
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def uncompressed_rle(mask):
    """COCO uncompressed RLE: run lengths of the column-major pixels, starting with 0s."""
    flat = mask.flatten(order='F')
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return dict(size=[HEIGHT, WIDTH], counts=counts)


# Drawn instances of image 1: a polygon rectangle (pixels x 2..7, y 3..8), an L-shaped RLE
# (uncompressed counts), a compressed-RLE rectangle and a crowd region.
POLYGON_MASK = rectangle(2, 3, 8, 9)
L_MASK = rectangle(9, 1, 11, 10) | rectangle(9, 8, 15, 10)
STRING_RLE_MASK = rectangle(12, 0, 16, 4)
CROWD_MASK = rectangle(0, 10, 8, 12)


def make_instance_json(root: Path) -> dict:
    categories = [dict(id=1, name='person'), dict(id=3, name='car'), dict(id=7, name='kite')]
    images = [dict(id=1, file_name='a.png', height=HEIGHT, width=WIDTH),
              dict(id=2, file_name='b.png', height=HEIGHT, width=WIDTH)]
    string_rle = mask_utils.encode(np.asfortranarray(STRING_RLE_MASK))
    annotations = [
        dict(id=10, image_id=1, category_id=3, iscrowd=0, bbox=[2, 3, 6, 6],
             segmentation=[[2, 3, 8, 3, 8, 9, 2, 9]]),
        dict(id=11, image_id=1, category_id=1, iscrowd=0, bbox=[9, 1, 6, 9],
             segmentation=uncompressed_rle(L_MASK)),
        dict(id=12, image_id=1, category_id=7, iscrowd=0, bbox=[12, 0, 4, 4],
             segmentation=dict(size=[HEIGHT, WIDTH], counts=string_rle['counts'].decode())),
        dict(id=13, image_id=1, category_id=1, iscrowd=1, bbox=[0, 10, 8, 2],
             segmentation=uncompressed_rle(CROWD_MASK)),
        dict(id=20, image_id=2, category_id=1, iscrowd=1, bbox=[0, 0, 4, 4],
             segmentation=uncompressed_rle(rectangle(0, 0, 4, 4))),
    ]
    content = dict(images=images, annotations=annotations, categories=categories)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    (root / 'images').mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for image in images:
        cv2.imwrite(str(root / 'images' / image['file_name']),
                    rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    save(root, content)
    return content


def save(root: Path, content: dict) -> None:
    (root / 'annotations' / 'instances.json').write_text(json.dumps(content))


def build(root: Path, **kwargs) -> CocoInstanceDataset:
    kwargs.setdefault('test_mode', True)
    return CocoInstanceDataset(data_root=str(root), ann_file='annotations/instances.json',
                               data_prefix=dict(img='images/'), **kwargs)


@pytest.fixture
def root(tmp_path) -> Path:
    make_instance_json(tmp_path)
    return tmp_path


def test_metainfo_lists_every_category_as_a_thing(root):
    meta = build(root).metainfo
    assert meta['classes'] == meta['thing_classes'] == ('person', 'car', 'kite')
    assert meta['stuff_classes'] == ()
    assert meta['category_ids'] == (1, 3, 7)
    assert (meta['num_things_classes'], meta['num_stuff_classes']) == (3, 0)
    assert meta['dataset_name'] == 'CocoInstanceDataset'
    assert len(meta['palette']) == 3


def test_polygon_rle_and_crowd_become_the_drawn_masks(root):
    dataset = build(root, pipeline=PIPELINE)
    info = dataset.get_data_info(0)
    assert info['img_path'] == str(root / 'images' / 'a.png')
    assert [inst['id'] for inst in info['instances']] == [10, 11, 12, 13]
    sample = dataset[0]['data_samples']
    masks = sample.gt_instances.masks.numpy()
    assert masks.dtype == bool
    np.testing.assert_array_equal(masks, np.stack([POLYGON_MASK, L_MASK, STRING_RLE_MASK])
                                  .astype(bool))
    assert sample.gt_instances.labels.tolist() == [1, 0, 2]  # car, person, kite
    assert sample.gt_sem_seg.sem_seg.shape == (1, HEIGHT, WIDTH)
    assert (sample.gt_sem_seg.sem_seg == VOID_LABEL).all()
    # The crowd-only image has no instance.
    assert dataset[1]['data_samples'].gt_instances.masks.shape == (0, HEIGHT, WIDTH)


def test_flip_and_resize_move_the_decoded_masks(root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadInstanceAnnotations'),
                dict(type='RandomFlip', prob=1.0),
                dict(type='Resize', scale=(2 * WIDTH, 2 * HEIGHT), keep_ratio=True),
                dict(type='FilterAnnotations', min_gt_mask_area=1),
                dict(type='PackSegInputs')]
    sample = build(root, pipeline=pipeline)[0]['data_samples']
    expected = np.stack([POLYGON_MASK, L_MASK, STRING_RLE_MASK])[:, :, ::-1]
    expected = expected.repeat(2, axis=1).repeat(2, axis=2).astype(bool)
    np.testing.assert_array_equal(sample.gt_instances.masks.numpy(), expected)


def test_all_void_semantic_map_gives_thing_targets_only(root):
    sample = build(root, pipeline=PIPELINE)[0]['data_samples']
    labels, masks = panoptic_targets(sample.gt_instances.labels, sample.gt_instances.masks,
                                     sample.gt_sem_seg.sem_seg, num_things_classes=3,
                                     num_stuff_classes=2)
    assert labels.tolist() == [1, 0, 2]
    assert torch.equal(masks, sample.gt_instances.masks)


def test_metainfo_classes_select_and_order(root):
    dataset = build(root, metainfo=dict(classes=['kite', 'car']), pipeline=PIPELINE)
    assert dataset.metainfo['category_ids'] == (7, 3)
    assert [inst['id'] for inst in dataset.get_data_info(0)['instances']] == [10, 12]
    assert dataset[0]['data_samples'].gt_instances.labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match='no stuff classes'):
        build(root, metainfo=dict(thing_classes=['car'], stuff_classes=['person']))
    with pytest.raises(KeyError, match='"dog"'):
        build(root, metainfo=dict(classes=['dog']))


def test_filter_drops_crowd_only_and_small_images(root):
    dataset = build(root, test_mode=False, filter_cfg=dict(filter_empty_gt=True, min_size=0))
    assert [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))] == [1]
    assert len(build(root, test_mode=False, filter_cfg=dict(filter_empty_gt=False))) == 2
    with pytest.raises(ValueError, match='drops all'):  # default min_size=32 > 12 px
        build(root, test_mode=False)
    assert DATASETS.build(dict(type='CocoInstanceDataset', data_root=str(root),
                               ann_file='annotations/instances.json', test_mode=True,
                               data_prefix=dict(img='images/'))).get_cat_ids(0) == [1, 0, 2, 0]


def test_box_only_annotation_needs_boxes_as_masks(root):
    content = json.loads((root / 'annotations' / 'instances.json').read_text())
    del content['annotations'][0]['segmentation']
    save(root, content)
    with pytest.raises(ValueError, match=r'instances\.json.*annotation id 10.*boxes_as_masks'):
        build(root)
    sample = build(root, boxes_as_masks=True, pipeline=PIPELINE)[0]['data_samples']
    np.testing.assert_array_equal(sample.gt_instances.masks[0].numpy(), POLYGON_MASK.astype(bool))


@pytest.mark.parametrize('corrupt, error, pattern', [
    (lambda c: c['annotations'][1].pop('category_id'), KeyError,
     r'instances\.json: annotations\[1\] has no key "category_id"'),
    (lambda c: c['annotations'][2].update(image_id=99), KeyError, 'image_id 99'),
    (lambda c: c['annotations'][2].update(category_id=5), KeyError, 'category_id 5'),
    (lambda c: c['annotations'][3].update(id=10), ValueError, 'repeats annotation id 10'),
    (lambda c: c['images'][0].pop('height'), KeyError, r'images\[0\] has no key "height"'),
    (lambda c: c.pop('categories'), KeyError, 'no key "categories"'),
    (lambda c: c['annotations'][0].update(segmentation='polygon'), ValueError,
     'annotation id 10.*type str'),
])
def test_bad_json_names_file_and_key(root, corrupt, error, pattern):
    content = json.loads((root / 'annotations' / 'instances.json').read_text())
    corrupt(content)
    save(root, content)
    with pytest.raises(error, match=pattern):
        build(root)


def test_unreadable_json_and_bad_segmentations_are_explained(root):
    content = json.loads((root / 'annotations' / 'instances.json').read_text())
    content['annotations'][0]['segmentation'] = [[2, 3, 8, 3]]  # 2 points: no polygon
    content['annotations'][1]['segmentation']['size'] = [HEIGHT + 1, WIDTH]
    save(root, content)
    dataset = build(root, pipeline=PIPELINE)
    with pytest.raises(ValueError, match='annotation id 10: polygon 0 must be'):
        dataset[0]
    content['annotations'][0]['segmentation'] = [[2, 3, 8, 3, 8, 9, 2, 9]]
    save(root, content)
    with pytest.raises(ValueError, match='annotation id 11: RLE size'):
        build(root, pipeline=PIPELINE)[0]
    (root / 'annotations' / 'instances.json').write_text('{"images": [')
    with pytest.raises(ValueError, match=r'instances\.json is not valid json'):
        build(root)


def test_image_as_video_clip_keeps_instance_ids(root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadInstanceAnnotations'),
                dict(type='ImageToClip', num_frames=2),
                dict(type='ClipTransform', transforms=[dict(type='RandomFlip', prob=1.0)]),
                dict(type='PackVideoInputs')]
    clip = build(root, pipeline=pipeline)[0]
    assert clip['inputs'].shape == (2, 3, HEIGHT, WIDTH)
    for frame in clip['data_samples'].video_data_samples:
        assert frame.gt_instances.instances_ids.tolist() == [1, 2, 3]
        np.testing.assert_array_equal(frame.gt_instances.masks[0].numpy(),
                                      POLYGON_MASK[:, ::-1].astype(bool))


def test_dataset_check_runs_the_instance_pipeline(root):
    from seg.datasets.dataset_check import check_dataset
    content = json.loads((root / 'annotations' / 'instances.json').read_text())
    content['annotations'][2]['segmentation']['size'] = [HEIGHT, WIDTH + 1]
    save(root, content)
    report = check_dataset(build(root, pipeline=PIPELINE), jobs=1, progress=False)
    assert [(problem.index, problem.kind) for problem in report.errors] == [(0, 'pipeline error')]
    assert 'annotation id 12: RLE size' in report.errors[0].message
