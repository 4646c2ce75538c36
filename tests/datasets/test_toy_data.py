"""The toy dataset generator: valid COCO panoptic content that is easy but not trivial."""
import numpy as np
import pytest

from seg.structures.panoptic_io import read_panoptic_png
from seg.testing.toy_data import TOY_CATEGORIES, generate_toy_dataset, render_toy_sample


def test_layout_and_categories(toy_root, load_json):
    for split, count in (('train', 6), ('val', 3)):
        content = load_json(toy_root, split)
        assert len(content['images']) == len(content['annotations']) == count
        for image, ann in zip(content['images'], content['annotations']):
            assert (toy_root / f'{split}2017' / image['file_name']).is_file()
            assert (toy_root / 'annotations' / f'panoptic_{split}2017' / ann['file_name']).is_file()
            assert ann['image_id'] == image['id']
        for category in content['categories']:
            assert set(category) == {'id', 'name', 'isthing', 'supercategory', 'color'}
    assert load_json(toy_root)['categories'] == [dict(cat) for cat in TOY_CATEGORIES]
    train_ids = {image['id'] for image in load_json(toy_root, 'train')['images']}
    assert not train_ids & {image['id'] for image in load_json(toy_root, 'val')['images']}


def test_areas_bboxes_and_ids_match_the_pngs(toy_root, load_json):
    content = load_json(toy_root)
    for image, ann in zip(content['images'], content['annotations']):
        ids = read_panoptic_png(toy_root / 'annotations' / 'panoptic_train2017' / ann['file_name'])
        assert ids.shape == (image['height'], image['width'])
        segment_ids = [seg['id'] for seg in ann['segments_info']]
        assert len(set(segment_ids)) == len(segment_ids)
        assert set(np.unique(ids)) - {0} == set(segment_ids)
        for segment in ann['segments_info']:
            rows, cols = np.nonzero(ids == segment['id'])
            assert segment['area'] == rows.size
            assert segment['bbox'] == [cols.min(), rows.min(), cols.max() - cols.min() + 1,
                                       rows.max() - rows.min() + 1]


def test_samples_mix_sizes_things_stuff_overlaps_void_and_crowd():
    sizes, things, stuff, crowd, void, overlaps, smallest_extent = set(), 0, 0, 0, 0, 0, 1.0
    thing_ids = {cat['id'] for cat in TOY_CATEGORIES if cat['isthing']}
    for index in range(40):
        image, ids, segments = render_toy_sample(np.random.default_rng([7, index]))
        height, width = ids.shape
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        assert 96 <= height <= 160 and 96 <= width <= 160
        sizes.add((height, width))
        void += int((ids == 0).any())
        for segment in segments:
            if segment['category_id'] not in thing_ids:
                stuff += 1
                continue
            if segment['iscrowd']:
                crowd += 1
                continue
            things += 1
            box_w, box_h = segment['bbox'][2:]
            smallest_extent = min(smallest_extent, max(box_w, box_h) / min(height, width))
            # a fully visible object fills its box well; an occluded one has lost some area
            overlaps += segment['area'] < 0.45 * box_w * box_h
    assert len(sizes) > 30 and any(h % 32 or w % 32 for h, w in sizes)
    assert things >= 40 and stuff >= 40 and crowd >= 1 and void >= 5 and overlaps >= 1
    assert smallest_extent >= 0.15


def test_same_class_objects_never_touch():
    for index in range(20):
        _, ids, segments = render_toy_sample(np.random.default_rng([3, index]))
        by_class = {}
        for segment in segments:
            by_class.setdefault(segment['category_id'], []).append(segment['id'])
        for members in by_class.values():
            for first in members:
                grown = np.zeros_like(ids, dtype=bool)
                rows, cols = np.nonzero(ids == first)
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        grown[np.clip(rows + dy, 0, ids.shape[0] - 1),
                              np.clip(cols + dx, 0, ids.shape[1] - 1)] = True
                others = [member for member in members if member != first]
                assert not np.isin(ids[grown], others).any()


def test_generation_is_deterministic_and_refuses_to_overwrite(tmp_path, load_json):
    first, second, other = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    for root, seed in ((first, 5), (second, 5), (other, 6)):
        generate_toy_dataset(root, num_train=2, num_val=1, seed=seed, log=None)
    assert load_json(first) == load_json(second)
    assert load_json(first) != load_json(other)
    for name in ('train2017/000000000001.jpg', 'annotations/panoptic_train2017/000000000001.png'):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_toy_dataset(first, num_train=1, num_val=1, log=None)
    generate_toy_dataset(first, num_train=1, num_val=1, overwrite=True, log=None)
    assert len(list((first / 'train2017').iterdir())) == 1  # stale images were removed
    with pytest.raises(ValueError, match='train'):
        generate_toy_dataset(tmp_path / 'd', num_train=0, log=None)
