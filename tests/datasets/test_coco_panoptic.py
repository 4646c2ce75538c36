"""CocoPanopticDataset: class metadata from the json, label mapping, filtering, bad input."""
import numpy as np
import pytest

from seg.datasets.transforms import LoadImageFromFile, LoadPanopticAnnotations
from seg.registry import DATASETS
from seg.structures.panoptic_io import read_panoptic_png
from seg.testing.toy_data import TOY_CATEGORIES
from seg.utils.constants import VOID_LABEL

LOAD_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations')]


def test_metainfo_comes_from_the_json_with_things_first(toy_root, build_dataset):
    dataset = build_dataset(toy_root)
    meta = dataset.metainfo
    assert meta['classes'] == ('ball', 'box', 'tent', 'ring', 'sky', 'grass', 'water')
    assert meta['thing_classes'] == ('ball', 'box', 'tent', 'ring')
    assert meta['stuff_classes'] == ('sky', 'grass', 'water')
    assert meta['category_ids'] == (1, 2, 3, 4, 101, 102, 103)
    assert (meta['num_things_classes'], meta['num_stuff_classes']) == (4, 3)
    assert meta['dataset_name'] == 'CocoPanopticDataset'
    assert meta['palette'][0] == tuple(TOY_CATEGORIES[0]['color'])
    assert build_dataset(toy_root, dataset_name='toy').metainfo['dataset_name'] == 'toy'


def test_interleaved_json_categories_are_reordered_things_first(toy_copy, build_dataset,
                                                                load_json, save_json):
    content = load_json(toy_copy)
    things = [cat for cat in content['categories'] if cat['isthing']]
    stuff = [cat for cat in content['categories'] if not cat['isthing']]
    content['categories'] = [stuff[2], things[1], stuff[0], things[0], things[3], stuff[1],
                             things[2]]
    save_json(toy_copy, content)
    meta = build_dataset(toy_copy).metainfo
    assert meta['classes'] == ('box', 'ball', 'ring', 'tent', 'water', 'sky', 'grass')
    assert meta['category_ids'] == (2, 1, 4, 3, 103, 101, 102)


def test_lazy_init_has_metainfo_before_loading(toy_root, build_dataset):
    dataset = build_dataset(toy_root, lazy_init=True)
    assert dataset.metainfo['num_things_classes'] == 4
    assert len(dataset) == 6
    assert dataset.get_cat_ids(0) == [seg['label'] for seg in
                                      dataset.get_data_info(0)['segments_info']]


def test_registry_builds_the_dataset_with_a_pipeline(toy_root):
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(toy_root),
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        pipeline=LOAD_PIPELINE + [dict(type='PackSegInputs')], test_mode=True))
    assert len(dataset) == 3
    packed = dataset[0]
    assert packed['inputs'].shape[0] == 3
    assert packed['data_samples'].img_id == dataset.get_data_info(0)['img_id']


def test_every_segment_maps_to_its_class_with_the_json_area(toy_root, build_dataset,
                                                            load_json):
    dataset = build_dataset(toy_root, pipeline=LOAD_PIPELINE)
    content = load_json(toy_root)
    name_of = {cat['id']: cat['name'] for cat in content['categories']}
    classes = dataset.metainfo['classes']
    num_things = dataset.metainfo['num_things_classes']
    assert len(dataset) == len(content['images'])
    for index, ann in enumerate(content['annotations']):
        results = dataset.pipeline(dataset.get_data_info(index))
        info = dataset.get_data_info(index)
        assert info['img_id'] == ann['image_id']
        assert info['img_path'].endswith(content['images'][index]['file_name'])
        seg_map, masks, labels = results['gt_seg_map'], results['gt_masks'], results['gt_labels']
        assert seg_map.shape == results['img'].shape[:2]
        ids = read_panoptic_png(info['seg_map_path'])
        expected_void = int((ids == 0).sum())
        instance = 0
        for segment, parsed in zip(ann['segments_info'], info['segments_info']):
            label = parsed['label']
            assert classes[label] == name_of[segment['category_id']]
            assert parsed['is_thing'] == (label < num_things)
            if segment['iscrowd']:
                expected_void += segment['area']
                continue
            if parsed['is_thing']:
                assert labels[instance] == label
                assert int(masks[instance].sum()) == segment['area']
                assert (seg_map[masks[instance].astype(bool)] == label).all()
                instance += 1
        assert instance == len(masks)
        for label in range(len(classes)):
            expected = sum(seg['area'] for seg, parsed in zip(ann['segments_info'],
                                                                info['segments_info'])
                           if parsed['label'] == label and not seg['iscrowd'])
            assert int((seg_map == label).sum()) == expected
        assert int((seg_map == VOID_LABEL).sum()) == expected_void


def test_metainfo_classes_restrict_the_vocabulary_and_void_the_rest(toy_root, build_dataset):
    dataset = build_dataset(toy_root, pipeline=LOAD_PIPELINE,
                            metainfo=dict(classes=('box', 'ball', 'sky')))
    meta = dataset.metainfo
    assert meta['thing_classes'] == ('box', 'ball') and meta['stuff_classes'] == ('sky',)
    assert meta['category_ids'] == (2, 1, 101)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        results = dataset.pipeline(dataset.get_data_info(index))
        ids = read_panoptic_png(info['seg_map_path'])
        kept_ids = [seg['id'] for seg in info['segments_info'] if not seg['iscrowd']]
        labelled = results['gt_seg_map'] != VOID_LABEL
        assert (labelled == np.isin(ids, kept_ids)).all()
        assert set(np.unique(results['gt_seg_map'][labelled])) <= {0, 1, 2}


@pytest.mark.parametrize('metainfo, error, match', [
    (dict(classes=('ball', 'unicorn')), KeyError, 'unicorn'),
    (dict(classes=('sky', 'ball')), ValueError, 'things first'),
    (dict(thing_classes=('ball', 'sky'), stuff_classes=('grass',)), ValueError, 'sky'),
    (dict(thing_classes=('ball',)), ValueError, 'stuff_classes'),
    (dict(classes='ball'), TypeError, 'list or tuple'),
])
def test_invalid_metainfo_classes_are_rejected(toy_root, build_dataset, metainfo, error, match):
    with pytest.raises(error, match=match):
        build_dataset(toy_root, metainfo=metainfo)


def test_training_filter_drops_images_without_instances_or_too_small(
        toy_copy, build_dataset, load_json, save_json):
    content = load_json(toy_copy)
    stuff_ids = {cat['id'] for cat in content['categories'] if not cat['isthing']}
    first = content['annotations'][0]
    first['segments_info'] = [seg for seg in first['segments_info']
                              if seg['category_id'] in stuff_ids]
    save_json(toy_copy, content)
    # The dropped thing segments' pixels are still in the PNG; only the image count matters.
    train = build_dataset(toy_copy, test_mode=False)
    assert len(train) == len(content['images']) - 1
    assert content['images'][0]['id'] not in {train.get_data_info(i)['img_id']
                                              for i in range(len(train))}
    assert len(build_dataset(toy_copy, test_mode=True)) == len(content['images'])
    assert len(build_dataset(toy_copy, test_mode=False, filter_cfg=None)) == len(content['images'])
    min_side = min(min(image['height'], image['width']) for image in content['images'])
    keeps_all = build_dataset(toy_copy, test_mode=False,
                              filter_cfg=dict(filter_empty_gt=False, min_size=min_side))
    assert len(keeps_all) == len(content['images'])
    with pytest.raises(ValueError, match='drops all 6 images'):
        build_dataset(toy_copy, test_mode=False,
                      filter_cfg=dict(filter_empty_gt=False, min_size=min_side + 100))


# ----------------------------------------------------------------------------------- bad input
def test_missing_json_names_the_file(toy_root, build_dataset):
    with pytest.raises(FileNotFoundError, match='panoptic_test2017.json'):
        build_dataset(toy_root, split='test')


def test_malformed_json_names_the_file(toy_copy, build_dataset):
    (toy_copy / 'annotations' / 'panoptic_train2017.json').write_text('{"images": [')
    with pytest.raises(ValueError, match='panoptic_train2017.json.*not valid json'):
        build_dataset(toy_copy)


@pytest.mark.parametrize('drop', ['images', 'annotations', 'categories'])
def test_missing_top_level_key_is_named(toy_copy, build_dataset, load_json, save_json, drop):
    content = load_json(toy_copy)
    del content[drop]
    save_json(toy_copy, content)
    with pytest.raises(KeyError, match=f'panoptic_train2017.json.*"{drop}"'):
        build_dataset(toy_copy)


@pytest.mark.parametrize('record, key', [
    ('image', 'file_name'), ('annotation', 'segments_info'), ('annotation', 'file_name'),
    ('segment', 'category_id'), ('category', 'isthing')])
def test_missing_record_key_is_named(toy_copy, build_dataset, load_json, save_json, record, key):
    content = load_json(toy_copy)
    target = dict(image=content['images'][1], annotation=content['annotations'][1],
                  segment=content['annotations'][1]['segments_info'][0],
                  category=content['categories'][2])[record]
    del target[key]
    save_json(toy_copy, content)
    with pytest.raises(KeyError, match=f'panoptic_train2017.json.*"{key}"'):
        build_dataset(toy_copy)


def test_unknown_category_id_is_named(toy_copy, build_dataset, load_json, save_json):
    content = load_json(toy_copy)
    content['annotations'][2]['segments_info'][0]['category_id'] = 999
    save_json(toy_copy, content)
    with pytest.raises(KeyError, match=r'annotations\[2\].*category_id 999'):
        build_dataset(toy_copy)


def test_annotation_of_unknown_image_is_named(toy_copy, build_dataset, load_json, save_json):
    content = load_json(toy_copy)
    content['annotations'][0]['image_id'] = 424242
    save_json(toy_copy, content)
    with pytest.raises(KeyError, match='image_id 424242'):
        build_dataset(toy_copy)


def test_duplicate_segment_id_is_rejected(toy_copy, build_dataset, load_json, save_json):
    content = load_json(toy_copy)
    segments = content['annotations'][0]['segments_info']
    segments[1]['id'] = segments[0]['id']
    save_json(toy_copy, content)
    with pytest.raises(ValueError, match=f'id {segments[0]["id"]}'):
        build_dataset(toy_copy)


def test_missing_image_file_names_the_path_when_loaded(toy_copy, build_dataset):
    dataset = build_dataset(toy_copy, pipeline=LOAD_PIPELINE)
    path = dataset.get_data_info(0)['img_path']
    (toy_copy / 'train2017' / path.split('/')[-1]).unlink()
    with pytest.raises(FileNotFoundError, match=path.split('/')[-1]):
        dataset[0]


def test_zero_byte_image_gives_a_clear_error(toy_copy, build_dataset):
    dataset = build_dataset(toy_copy, pipeline=LOAD_PIPELINE)
    path = dataset.get_data_info(1)['img_path']
    open(path, 'wb').close()
    with pytest.raises(ValueError, match=f'cannot decode image file .*{path.split("/")[-1]}'):
        LoadImageFromFile()(dataset.get_data_info(1))


def test_png_id_absent_from_segments_info_names_png_and_id(toy_copy, build_dataset, load_json,
                                                           save_json):
    content = load_json(toy_copy)
    removed = content['annotations'][0]['segments_info'].pop(0)
    save_json(toy_copy, content)
    dataset = build_dataset(toy_copy)
    info = dataset.get_data_info(0)
    png_name = info['seg_map_path'].split('/')[-1]
    with pytest.raises(ValueError, match=rf'{png_name}.*\[{removed["id"]}\]'):
        LoadPanopticAnnotations()(LoadImageFromFile()(info))
