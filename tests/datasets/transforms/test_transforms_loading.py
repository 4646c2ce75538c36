"""LoadImageFromFile, LoadPanopticAnnotations and FilterAnnotations on hand-made files."""
import cv2
import numpy as np
import pytest

from seg.datasets.transforms import FilterAnnotations, LoadImageFromFile, LoadPanopticAnnotations
from seg.structures.panoptic_io import write_panoptic_png
from seg.utils.constants import VOID_LABEL


@pytest.fixture
def panoptic_files(tmp_path):
    """A 6x8 image and its PNG: void column 0, stuff 'sky' (id 7), thing 1 (id 300),
    thing 2 (id 70000, crowd), thing 3 (id 5) of another class."""
    ids = np.full((6, 8), 7, dtype=np.int64)
    ids[:, 0] = 0
    ids[1:3, 1:4] = 300
    ids[4:6, 5:8] = 70000
    ids[0:2, 6:8] = 5
    png = tmp_path / 'pan.png'
    write_panoptic_png(png, ids)
    img = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img_path = tmp_path / 'img.png'
    cv2.imwrite(str(img_path), img)
    segments = [dict(id=7, category_id=50, iscrowd=0, label=3, is_thing=False),
                dict(id=300, category_id=1, iscrowd=0, label=0, is_thing=True),
                dict(id=70000, category_id=1, iscrowd=1, label=0, is_thing=True),
                dict(id=5, category_id=2, iscrowd=0, label=1, is_thing=True)]
    return dict(ids=ids, img=img, results=dict(img_path=str(img_path), seg_map_path=str(png),
                                               segments_info=segments))


def test_load_image_reads_bgr_uint8_and_sets_shapes(panoptic_files):
    results = LoadImageFromFile()(dict(panoptic_files['results']))
    assert results['img'].dtype == np.uint8
    assert (results['img'] == panoptic_files['img']).all()  # cv2 writes and reads BGR
    assert results['img_shape'] == results['ori_shape'] == (6, 8)
    assert LoadImageFromFile(to_float32=True)(dict(panoptic_files['results']))['img'].dtype == \
        np.float32


def test_panoptic_png_becomes_masks_labels_and_semantic_map(panoptic_files):
    results = LoadPanopticAnnotations()(LoadImageFromFile()(dict(panoptic_files['results'])))
    ids = panoptic_files['ids']
    assert results['gt_masks'].dtype == np.uint8 and results['gt_masks'].shape == (2, 6, 8)
    assert results['gt_labels'].dtype == np.int64 and results['gt_labels'].tolist() == [0, 1]
    assert (results['gt_masks'][0] == (ids == 300)).all()
    assert (results['gt_masks'][1] == (ids == 5)).all()
    seg = results['gt_seg_map']
    assert seg.dtype == np.int64
    expected = np.select([ids == 7, ids == 300, ids == 5], [3, 0, 1], default=VOID_LABEL)
    assert (seg == expected).all()  # void (id 0) and the crowd segment are VOID_LABEL


def test_with_flags_choose_the_fields(panoptic_files):
    only_seg = LoadPanopticAnnotations(with_mask=False)(dict(panoptic_files['results']))
    assert 'gt_seg_map' in only_seg and 'gt_masks' not in only_seg
    only_masks = LoadPanopticAnnotations(with_seg=False)(dict(panoptic_files['results']))
    assert 'gt_masks' in only_masks and 'gt_seg_map' not in only_masks


def test_ignored_segment_ids_become_void(panoptic_files):
    results = dict(panoptic_files['results'])
    results['segments_info'] = [seg for seg in results['segments_info'] if seg['id'] != 5]
    results['ignored_segment_ids'] = [5]
    loaded = LoadPanopticAnnotations()(results)
    assert loaded['gt_labels'].tolist() == [0]
    assert (loaded['gt_seg_map'][panoptic_files['ids'] == 5] == VOID_LABEL).all()


def test_unknown_png_id_is_named(panoptic_files):
    results = dict(panoptic_files['results'])
    results['segments_info'] = results['segments_info'][1:]
    with pytest.raises(ValueError, match=r'pan\.png contains segment id\(s\) \[7\]'):
        LoadPanopticAnnotations()(results)


def test_png_and_image_of_different_sizes_are_rejected(panoptic_files):
    results = LoadImageFromFile()(dict(panoptic_files['results']))
    results['ori_shape'] = (7, 8)
    with pytest.raises(ValueError, match=r'pan\.png has size \(6, 8\)'):
        LoadPanopticAnnotations()(results)


def test_missing_and_undecodable_images_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.jpg'):
        LoadImageFromFile()(dict(img_path=str(tmp_path / 'nothere.jpg')))
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg at all')
    with pytest.raises(ValueError, match='broken.jpg'):
        LoadImageFromFile()(dict(img_path=str(broken)))
    with pytest.raises(KeyError, match='img_path'):
        LoadImageFromFile()(dict())


def test_filter_annotations_drops_small_masks():
    masks = np.zeros((3, 4, 4), dtype=np.uint8)
    masks[1, 0, 0] = 1
    masks[2, :2, :2] = 1
    results = FilterAnnotations(min_gt_mask_area=2)(
        dict(gt_masks=masks, gt_labels=np.array([5, 6, 7])))
    assert results['gt_labels'].tolist() == [7] and results['gt_masks'].shape == (1, 4, 4)
    kept_by_default = FilterAnnotations()(dict(gt_masks=masks, gt_labels=np.array([5, 6, 7])))
    assert kept_by_default['gt_labels'].tolist() == [6, 7]
    assert FilterAnnotations(min_gt_mask_area=10, keep_empty=False)(
        dict(gt_masks=masks, gt_labels=np.array([5, 6, 7]))) is None
    with pytest.raises(ValueError, match='by_mask'):
        FilterAnnotations(by_mask=False)
