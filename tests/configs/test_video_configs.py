"""Video configs: the reference's evaluation settings, and the toy video config running
tools/test.py end to end (VIS AP, VPQ, STQ and J&F in metrics.json)."""
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from seg.testing.toy_video_data import generate_toy_video_dataset

REPO = Path(__file__).resolve().parents[2]


def load(name):
    return Config.fromfile(str(REPO / 'configs' / name))


@pytest.mark.parametrize('name, clip_size, tasks', [
    ('eval_omg_convl_yt19.py', 5, dict(panoptic_on=False, instance_on=True)),
    ('eval_omg_convl_yt21.py', 5, dict(panoptic_on=False, instance_on=True)),
    ('eval_omg_convl_vipseg.py', 2, dict(panoptic_on=True, instance_on=False)),
    ('eval_omg_convl_davis.py', 5, dict(panoptic_on=False, instance_on=False)),
])
def test_eval_configs_follow_the_reference(name, clip_size, tasks):
    cfg = load(f'omg_seg/{name}')
    video = cfg.model.video_cfg
    assert (video.clip_size, video.clip_size_small, video.small_clip_thr, video.whole_clip_thr,
            video.overlap) == (clip_size, 3, 15, 0, 0)
    assert all(cfg.model.test_cfg[key] == value for key, value in tasks.items())
    assert cfg.model.test_cfg.object_mask_thr == 0.0 and cfg.model.test_cfg.iou_thr == 0.8
    resize = cfg.test_dataloader.dataset.pipeline[1].transforms[1]
    assert tuple(resize.scale) == (1280, 736)
    assert cfg.test_dataloader.batch_size == 1
    assert cfg.model.data_preprocessor.type.__name__ == 'VideoSegDataPreprocessor'


def test_dataset_specifics():
    yt21 = load('omg_seg/eval_omg_convl_yt21.py')
    assert yt21.model.vocabulary.thing_classes[2] == 'bird'
    assert yt21.test_dataloader.dataset.ann_file == 'annotations/youtube_vis_2021_valid.json'
    vipseg = load('omg_seg/eval_omg_convl_vipseg.py')
    assert len(vipseg.model.vocabulary.thing_classes) == 58
    assert len(vipseg.model.vocabulary.stuff_classes) == 66
    assert [tuple(m.windows) for m in vipseg.test_evaluator[:2]] == [(1, 2, 3, 4), (1, 2, 4, 6)]
    assert vipseg.test_evaluator[2].type.__name__ == 'VideoSemSegMetric'
    davis = load('omg_seg/eval_omg_convl_davis.py')
    assert davis.model.video_cfg.vos_on and davis.model.video_cfg.num_proposals == 25
    assert davis.test_dataloader.dataset.resolution == '480p'


def test_toy_video_config_writes_every_video_metric(tmp_path):
    root = tmp_path / 'toy_video'
    generate_toy_video_dataset(root, num_train=1, num_val=1, num_frames=(4, 4), seed=1,
                               overwrite=True, log=None)
    spec = importlib.util.spec_from_file_location('test_tool', REPO / 'tools' / 'test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    options = [f'test_dataloader.dataset.data_root={root}/vipseg/',
               f'test_evaluator.0.ann_file={root}/ytvis/valid.json',
               'test_dataloader.num_workers=0']
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tool.main([str(REPO / 'configs' / 'toy' / 'omg_toy_video.py'), '--work-dir',
                   str(tmp_path / 'work'), '--cfg-options', *options])
    finally:
        torch.set_num_threads(threads)
    metrics = json.loads((tmp_path / 'work' / 'metrics.json').read_text())
    for key in ('youtube_vis/segm_mAP', 'vipseg/VPQ', 'vipseg/STQ', 'davis/J&F-Mean',
                'vss/mIoU'):
        assert 0.0 <= metrics[key] <= 1.0, key


def test_coco_pseudo_video_config_makes_two_frame_clips(toy_data_root):
    from seg.registry import DATASETS
    cfg = load('_base_/datasets/coco_panoptic_video.py')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(data_root=str(toy_data_root))
    dataset_cfg.pipeline[3].transforms[1].update(scale=(96, 64))
    dataset_cfg.pipeline[4].transforms[0].update(crop_size=(48, 48))
    clip = DATASETS.build(dataset_cfg)[0]
    assert clip['inputs'].shape[:2] == (2, 3) and clip['inputs'].shape[-2:] == (48, 48)
    frames = list(clip['data_samples'])
    assert frames[0].flip == frames[1].flip
    ids = [dict(zip(f.gt_instances.instances_ids.tolist(), f.gt_instances.labels.tolist()))
           for f in frames]
    assert all(ids[0][key] == label for key, label in ids[1].items() if key in ids[0])
