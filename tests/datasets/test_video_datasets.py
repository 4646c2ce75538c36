"""YouTube-VIS, VIPSeg and DAVIS loaders on the generated toy videos, and their errors on
malformed files."""
import json
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from seg.datasets import DAVISDataset, VIPSegDataset, YouTubeVISDataset
from seg.datasets.vipseg import decode_vipseg_codes
from seg.datasets.youtube_vis import official_to_coco_video
from seg.testing.toy_video_data import generate_toy_video_dataset
from seg.utils.constants import VOID_LABEL

TEST_PIPELINE = [
    dict(type='VideoClipSample', num_frames=None),
    dict(type='ClipTransform', transforms=[dict(type='LoadImageFromFile'),
                                           dict(type='LoadVideoAnnotations')]),
    dict(type='PackVideoInputs'),
]


@pytest.fixture(scope='module')
def toy_video_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_video')
    generate_toy_video_dataset(root, num_train=2, num_val=2, num_frames=(4, 5), seed=3,
                               overwrite=True, log=None)
    return root


def vipseg(root, **kwargs):
    return VIPSegDataset(data_root=str(root / 'vipseg'), ann_file='val.txt',
                         pipeline=TEST_PIPELINE, test_mode=True, **kwargs)


def test_the_three_layouts_load_the_same_videos(toy_video_root):
    panoptic = vipseg(toy_video_root)
    instance = YouTubeVISDataset(
        data_root=str(toy_video_root / 'ytvis'),
        ann_file='annotations/youtube_vis_2019_valid.json',
        data_prefix=dict(img='valid/JPEGImages/'), pipeline=TEST_PIPELINE, test_mode=True)
    objects = DAVISDataset(data_root=str(toy_video_root / 'davis'),
                           ann_file='ImageSets/2017/val.txt', pipeline=TEST_PIPELINE,
                           test_mode=True)
    assert panoptic.metainfo['classes'] == ('ball', 'box', 'tent', 'sky', 'grass')
    assert panoptic.metainfo['category_ids'] == (2, 3, 4, 0, 1)
    assert instance.metainfo['classes'] == ('ball', 'box', 'tent')
    assert objects.metainfo['classes'] == ('object',)
    for index in range(2):
        clips = [dataset[index] for dataset in (panoptic, instance, objects)]
        metas = [clip['data_samples'].metainfo for clip in clips]
        assert metas[0]['video_id'] == metas[1]['video_id'] == metas[2]['video_id'] == index + 1
        assert metas[2]['sequence'] == metas[0]['video_name']
        lengths = {clip['inputs'].shape[0] for clip in clips}
        assert len(lengths) == 1 and lengths.pop() == metas[0]['video_length']
        for t in range(metas[0]['video_length']):
            frames = [clip['data_samples'][t].gt_instances for clip in clips]
            # One object per (visible) thing, in every layout; masks identical.
            counts = {len(frame) for frame in frames}
            assert len(counts) == 1
            order = [np.argsort([m.sum().item() for m in f.masks]) for f in frames]
            for frame, rank in zip(frames[1:], order[1:]):
                assert np.array_equal(frame.masks[rank].numpy(),
                                      frames[0].masks[order[0]].numpy())
        semantic = clips[0]['data_samples'][0].gt_sem_seg.sem_seg
        assert set(semantic.unique().tolist()) <= {0, 1, 2, 3, 4, VOID_LABEL}


def test_instance_ids_are_stable_across_frames(toy_video_root):
    clip = vipseg(toy_video_root)[0]['data_samples']
    by_id = {}
    for frame in clip:
        for label, instance_id in zip(frame.gt_instances.labels.tolist(),
                                      frame.gt_instances.instances_ids.tolist()):
            assert by_id.setdefault(instance_id, label) == label
    assert by_id


def test_vipseg_codes_void_and_the_200_quirk():
    table = {0: (3, False), 2: (0, True)}  # category 0 stuff, category 2 thing
    codes = np.array([[0, 1, 300], [200, 301, 1]])
    decoded = decode_vipseg_codes(codes, table, 'test.png')
    assert decoded['gt_seg_map'].tolist() == [[VOID_LABEL, 3, 0], [VOID_LABEL, 0, 3]]
    assert decoded['gt_instance_ids'].tolist() == [300, 301]
    assert decoded['gt_labels'].tolist() == [0, 0]
    with pytest.raises(ValueError, match='code 2 is a stuff code but category 1'):
        decode_vipseg_codes(codes + (codes == 1), {0: (3, False), 1: (4, True)}, 'bad.png')
    with pytest.raises(ValueError, match='bad.png: code 900 refers to category 8'):
        decode_vipseg_codes(np.array([[900]]), table, 'bad.png')


def copy_layout(root, tmp_path, layout):
    target = tmp_path / layout
    shutil.copytree(root / layout, target)
    return target


def test_vipseg_rejects_rgb_pngs_missing_folders_and_wrong_heights(toy_video_root, tmp_path):
    root = copy_layout(toy_video_root, tmp_path, 'vipseg')
    with pytest.raises(ValueError, match='is 64 px high, the dataset expects 720'):
        vipseg(tmp_path, frame_height=720)[0]
    png = sorted((root / 'panomasks' / 'val_0000').glob('*.png'))[0]
    cv2.imwrite(str(png), np.zeros((64, 96, 3), np.uint8))
    with pytest.raises(ValueError, match='single-channel'):
        vipseg(tmp_path)[0]
    shutil.rmtree(root / 'panomasks' / 'val_0001')
    with pytest.raises(FileNotFoundError, match="lists video 'val_0001'"):
        vipseg(tmp_path)


def test_youtube_vis_rejects_official_and_malformed_jsons(toy_video_root, tmp_path):
    root = copy_layout(toy_video_root, tmp_path, 'ytvis')

    def load(name):
        return YouTubeVISDataset(data_root=str(root), ann_file=name, pipeline=TEST_PIPELINE)

    with pytest.raises(ValueError, match='official YouTube-VIS json; convert it'):
        load('train.json')
    converted = json.loads((root / 'annotations' / 'youtube_vis_2019_train.json').read_text())
    del converted['annotations'][0]['instance_id']
    (root / 'broken.json').write_text(json.dumps(converted))
    with pytest.raises(KeyError, match='annotations\\[0\\] has no key "instance_id"'):
        load('broken.json')
    (root / 'truncated.json').write_text('{"videos": [')
    with pytest.raises(ValueError, match='truncated.json is not valid json'):
        load('truncated.json')
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load('missing.json')


def test_davis_reads_palette_pngs_and_rejects_rgb_ones(toy_video_root, tmp_path):
    root = copy_layout(toy_video_root, tmp_path, 'davis')
    dataset = DAVISDataset(data_root=str(root), ann_file='ImageSets/2017/val.txt',
                           pipeline=TEST_PIPELINE, test_mode=True)
    first = dataset[0]['data_samples'][0].gt_instances
    assert first.instances_ids.tolist() == list(range(1, len(first) + 1))
    assert first.labels.tolist() == [0] * len(first)
    png = sorted((root / 'Annotations' / '480p' / 'val_0000').glob('*.png'))[0]
    Image.new('RGB', (96, 64)).save(png)
    with pytest.raises(ValueError, match='expected a palette'):
        dataset[0]
    with pytest.raises(ValueError, match='resolution must be one of'):
        DAVISDataset(data_root=str(root), ann_file='ImageSets/2017/val.txt', resolution='720p')


def test_training_filter_drops_short_videos(toy_video_root):
    dataset = VIPSegDataset(data_root=str(toy_video_root / 'vipseg'), ann_file='train.txt',
                            filter_cfg=dict(min_frames=5))
    unfiltered = VIPSegDataset(data_root=str(toy_video_root / 'vipseg'), ann_file='train.txt')
    lengths = [unfiltered.get_data_info(i)['video_length'] for i in range(len(unfiltered))]
    assert sorted(lengths) == [4, 5]  # seed 3
    assert len(dataset) == 1 and dataset.get_data_info(0)['video_length'] == 5
    with pytest.raises(ValueError, match='cannot tell empty videos'):
        VIPSegDataset(data_root=str(toy_video_root / 'vipseg'), ann_file='train.txt',
                      filter_cfg=dict(filter_empty_gt=True))


def test_official_youtube_vis_conversion():
    rle = {'size': [2, 2], 'counts': [0, 4]}
    official = dict(
        videos=[dict(id=5, width=2, height=2, file_names=['v/0.jpg', 'v/1.jpg'])],
        categories=[dict(id=1, name='cat')],
        annotations=[dict(id=11, video_id=5, category_id=1, iscrowd=0,
                          segmentations=[None, rle], areas=[None, 4], bboxes=[None, [0, 0, 2, 2]])])
    converted = official_to_coco_video(official, 'official.json')
    assert converted['videos'] == [dict(id=5, name='v', width=2, height=2)]
    assert [image['frame_id'] for image in converted['images']] == [0, 1]
    (annotation,) = converted['annotations']
    assert (annotation['image_id'], annotation['instance_id'], annotation['area']) == (2, 1, 4)
    official['annotations'][0]['segmentations'] = [rle]
    with pytest.raises(ValueError, match='track 11 has 1 segmentations for 2 frames'):
        official_to_coco_video(official, 'official.json')
