"""Miniature copies of the real datasets: each layout loads with its dataset class through the
paths and pipelines of the configs, with the real category counts."""
import importlib.util
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from seg.datasets import CocoInstanceDataset, JointDataset, Objects365InstanceDataset
from seg.datasets.transforms import LoadImageFromFile, LoadInstanceAnnotations, PackSegInputs
from seg.structures.panoptic_io import read_panoptic_png
from seg.testing.miniature import (DATASET_FOLDERS, MINIATURE_DATASETS, move_data_paths,
                                   write_miniature_data)
from seg.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / 'configs' / '_base_' / 'datasets'


@pytest.fixture(scope='session')
def mini(tmp_path_factory):
    """(root, counts) of one generation of every miniature dataset (read-only)."""
    root = tmp_path_factory.mktemp('mini_data')
    return root, write_miniature_data(root, seed=0)


def config_dataset(config: str, loader: str, root: Path, **updates):
    """Build ``<loader>.dataset`` of a ``_base_`` dataset config with ``data_root`` moved from
    ``data/`` to ``root`` (the config's relative paths kept)."""
    cfg = Config.fromfile(str(BASE / config))
    dataset = cfg[loader]['dataset'].copy()
    assert dataset['data_root'].startswith('data/')
    dataset['data_root'] = str(root / dataset['data_root'][len('data/'):])
    dataset.update(updates)
    return DATASETS.build(dataset), cfg


def test_every_dataset_written_with_its_counts(mini):
    root, counts = mini
    assert list(counts) == list(MINIATURE_DATASETS)
    for key, splits in counts.items():
        assert (root / DATASET_FOLDERS[key]).is_dir()
        assert all(count >= 2 for count in splits.values()), (key, splits)
    coco = json.loads((root / 'coco/annotations/panoptic_train2017.json').read_text())
    assert len(coco['images']) == counts['coco']['train']
    assert len(list((root / 'coco/annotations/panoptic_train2017').glob('*.png'))) == \
        counts['coco']['train']


def load_tool():
    spec = importlib.util.spec_from_file_location('make_miniature_data',
                                                  REPO / 'tools' / 'make_miniature_data.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_make_miniature_data_tool_lists_every_dataset():
    assert tuple(load_tool().DATASET_KEYS) == MINIATURE_DATASETS


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_coco_panoptic_loads_with_the_real_133_classes(mini, loader):
    root, _ = mini
    dataset, _ = config_dataset('coco_panoptic_lsj.py', loader, root)
    meta = dataset.metainfo
    assert (len(meta['classes']), meta['num_things_classes'], meta['num_stuff_classes']) == \
        (133, 80, 53)
    assert meta['classes'][0] == 'person' and meta['classes'][79] == 'toothbrush'
    assert meta['classes'][80] == 'banner' and meta['classes'][-1] == 'rug-merged'
    sample = dataset[0]
    labels = sample['data_samples'].gt_instances.labels
    assert len(labels) > 0 and int(labels.max()) < 80  # instances are things


def test_coco_video_pipeline_makes_two_frame_clips(mini):
    root, _ = mini
    dataset, _ = config_dataset('coco_panoptic_video.py', 'train_dataloader', root)
    sample = dataset[0]
    assert sample['inputs'].shape[0] == 2  # (T, 3, H, W)


def test_coco_instances_match_the_panoptic_things(mini):
    root, _ = mini
    instances = CocoInstanceDataset(
        data_root=str(root / 'coco'), ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'), test_mode=True,
        pipeline=[LoadImageFromFile(), LoadInstanceAnnotations(), PackSegInputs()])
    assert len(instances.metainfo['classes']) == 80
    assert instances.metainfo['category_ids'][-1] == 90
    panoptic = json.loads((root / 'coco/annotations/panoptic_val2017.json').read_text())
    things = {cat['id'] for cat in panoptic['categories'] if cat['isthing']}
    first = panoptic['annotations'][0]
    ids = read_panoptic_png(root / 'coco/annotations/panoptic_val2017' / first['file_name'])
    expected = sorted(int((ids == seg['id']).sum()) for seg in first['segments_info']
                      if seg['category_id'] in things and not seg['iscrowd'])
    masks = instances[0]['data_samples'].gt_instances.masks
    assert sorted(int(area) for area in masks.reshape(len(masks), -1).sum(1)) == expected


def test_ade20k_loads_with_the_real_150_classes(mini):
    root, _ = mini
    dataset, _ = config_dataset('ade20k_panoptic.py', 'test_dataloader', root)
    meta = dataset.metainfo
    assert (len(meta['classes']), meta['num_things_classes'], meta['num_stuff_classes']) == \
        (150, 100, 50)
    assert meta['thing_classes'][0] == 'bed' and meta['stuff_classes'][0] == 'wall'
    assert dataset[0]['data_samples'].gt_sem_seg.sem_seg.shape[0] == 1


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_cityscapes_loads_with_8_things_and_11_stuff(mini, loader):
    root, _ = mini
    dataset, cfg = config_dataset('cityscapes_panoptic.py', loader, root)
    meta = dataset.metainfo
    assert (meta['num_things_classes'], meta['num_stuff_classes']) == (8, 11)
    assert list(meta['thing_classes']) == cfg.vocabulary.thing_classes
    assert list(meta['stuff_classes']) == cfg.vocabulary.stuff_classes
    assert len(dataset[0]['data_samples'].gt_instances.labels) > 0


@pytest.mark.parametrize('version', ['2019', '2021'])
@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_youtube_vis_loads_with_the_config_vocabulary(mini, version, loader):
    root, counts = mini
    dataset, cfg = config_dataset(f'youtube_vis_{version}.py', loader, root)
    assert list(dataset.metainfo['classes']) == cfg.vocabulary.thing_classes
    assert dataset.metainfo['category_ids'] == tuple(range(1, 41))
    assert len(dataset) == counts[f'youtube_vis_{version}'][
        'train' if loader == 'train_dataloader' else 'valid']
    sample = dataset[0]
    frames = sample['inputs'].shape[0]
    assert frames == 2 if loader == 'train_dataloader' else frames >= 3
    if loader == 'train_dataloader':
        assert any(len(s.gt_instances.labels) for s in sample['data_samples'])


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_vipseg_loads_720p_with_58_things_and_66_stuff(mini, loader):
    root, _ = mini
    dataset, cfg = config_dataset('vipseg.py', loader, root)
    meta = dataset.metainfo
    assert list(meta['thing_classes']) == cfg.vocabulary.thing_classes
    assert list(meta['stuff_classes']) == cfg.vocabulary.stuff_classes
    assert (len(meta['classes']), meta['num_things_classes']) == (124, 58)
    frame = dataset[0]['data_samples'][0]
    assert frame.ori_shape[0] == 720
    sem_seg = frame.gt_sem_seg.sem_seg
    assert (sem_seg[sem_seg != 65535] >= 0).all() and (sem_seg != 65535).any()


@pytest.mark.parametrize('loader, resolution_scale', [('train_dataloader', 2),
                                                       ('val_dataloader', 1)])
def test_davis_loads_both_resolutions(mini, loader, resolution_scale):
    root, _ = mini
    dataset, _ = config_dataset('davis.py', loader, root)
    sample = dataset[0]
    first = sample['data_samples'][0]
    assert first.ori_shape == (64 * resolution_scale, 96 * resolution_scale)
    assert len(first.gt_instances.labels) > 0  # the first frame's objects (VOS)


def test_objects365_loads_masks_and_boxes(mini):
    root, _ = mini
    pipeline = [LoadImageFromFile(), LoadInstanceAnnotations(), PackSegInputs()]
    with_masks = Objects365InstanceDataset(
        data_root=str(root / 'objects365'), ann_file='annotations/obj365v2_train.gt.json',
        pipeline=pipeline)
    boxes_only = Objects365InstanceDataset(
        data_root=str(root / 'objects365'), ann_file='annotations/zhiyuan_objv2_val.json',
        data_prefix=dict(img='val/'), boxes_as_masks=True, test_mode=True, pipeline=pipeline)
    assert with_masks.metainfo['classes'][0] == 'Person'
    for dataset in (with_masks, boxes_only):
        assert len(dataset[0]['data_samples'].gt_instances.labels) > 0


def test_joint_training_sources_merge_into_the_published_vocabulary(mini):
    """COCO (named by its synonym list) + YT-VIS 19 / 21 + VIPSeg + Cityscapes, as the yt19+yt21
    training config, merge into th139_st101 (the published model's 139 things / 101 stuff)."""
    root, _ = mini
    sources = [config_dataset(config, 'train_dataloader', root, pipeline=[])[0] for config in (
        'coco_panoptic_video.py', 'youtube_vis_2019.py', 'youtube_vis_2021.py', 'vipseg.py',
        'cityscapes_panoptic.py')]
    joint = JointDataset(sources, data_tags=['panoptic'] + ['video'] * 3 + ['panoptic'],
                         vocabularies=[dict(file=str(REPO / 'ext/class_names/coco_panoptic.json'),
                                            name='coco')] + [None] * 4)
    published = json.loads((REPO / 'ext/class_names/th139_st101.json').read_text())
    assert list(joint.metainfo['thing_classes']) == published['thing_classes']
    assert list(joint.metainfo['stuff_classes']) == published['stuff_classes']


def test_generation_is_deterministic(mini, tmp_path):
    root, _ = mini
    write_miniature_data(tmp_path, datasets=['coco', 'vipseg'], seed=0)
    for relative in ('coco/annotations/panoptic_train2017.json',
                     'coco/annotations/instances_val2017.json'):
        assert (tmp_path / relative).read_bytes() == (root / relative).read_bytes()
    name = (root / 'VIPSeg/val.txt').read_text().split()[0]
    for png in sorted((root / 'VIPSeg/panomasks' / name).glob('*.png')):
        assert png.read_bytes() == (tmp_path / 'VIPSeg/panomasks' / name / png.name).read_bytes()
    other = tmp_path / 'seed1'
    write_miniature_data(other, datasets=['coco'], seed=1)
    assert (other / 'coco/annotations/panoptic_train2017.json').read_bytes() != \
        (root / 'coco/annotations/panoptic_train2017.json').read_bytes()


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(ValueError, match='unknown miniature dataset'):
        write_miniature_data(tmp_path, datasets=['coco', 'kitti'])


def test_tool_refuses_a_non_empty_folder_unless_overwrite(tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / 'data'
    (out / 'DAVIS' / 'stale').mkdir(parents=True)
    assert tool.main(['--out', str(out), '--datasets', 'davis']) == 1
    assert 'not empty' in capsys.readouterr().err
    assert tool.main(['--out', str(out), '--datasets', 'davis', '--overwrite']) == 0
    assert not (out / 'DAVIS' / 'stale').exists()
    assert (out / 'DAVIS/ImageSets/2017/val.txt').read_text().split() == \
        ['val-sequence-1', 'val-sequence-2']
    assert [path.name for path in out.iterdir()] == ['DAVIS']


def test_move_data_paths_moves_only_data_paths(tmp_path):
    cfg = dict(data_root='data/coco/', vocabulary=[dict(ann_file='data/ade/x.json'), None],
               work_dir='work_dirs/data/', scale=(1280, 736))
    moved = move_data_paths(cfg, tmp_path)
    assert moved == dict(data_root=f'{tmp_path}/coco/',
                         vocabulary=[dict(ann_file=f'{tmp_path}/ade/x.json'), None],
                         work_dir='work_dirs/data/', scale=(1280, 736))
    assert cfg['data_root'] == 'data/coco/'  # the input is not changed
