"""Every config under configs/omg_seg/ on miniature copies of its datasets (real layouts, real
class lists): the model builds (backbone and decoder shrunk), every training source and test
dataset yields samples through the config's own pipelines, the evaluator builds with the
dataset's metainfo; the main co-training config trains 2 iterations through the runner."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from seg.engine import vocabulary_differences
from seg.engine.runner_setup import build_runner, setup_config
from seg.models import build_segmentor
from seg.registry import DATASETS, METRICS
from seg.testing.miniature import write_miniature_data

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / 'configs' / 'omg_seg'
PAPER_CONFIGS = sorted(path.name for path in CONFIG_DIR.glob('*.py'))
MAIN_CONFIG = 'omg_convl_coco_vid_yt19_vip_city_cocosam_12e.py'

TINY_BACKBONE = dict(
    model_name='convnext_omg_test', pretrained=None,
    model_cfg=dict(
        embed_dim=32,
        vision_cfg=dict(timm_model_name='convnext_omg_test', timm_model_pretrained=False,
                        timm_pool='', timm_proj='mlp', timm_drop=0.0, timm_drop_path=0.0,
                        image_size=64),
        text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1)),
    trunk_cfg=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128)))
# Applied as --cfg-options are: a smaller model with the config's widths and structure.
SHRINK_OPTIONS = {
    'model.panoptic_head.num_queries': 10,
    'model.panoptic_head.pixel_decoder.encoder.num_layers': 1,
    'model.panoptic_head.transformer_decoder.num_layers': 2,
    'model.train_cfg.num_points': 256,
    # Random text tower: the embeddings are generated on the fly.
    'model.text_embeddings': dict(cache_dir=None, generate_if_missing=True),
}


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A folder laid out as the repository root: data/ (miniature copies) and ext/."""
    root = tmp_path_factory.mktemp('paper_configs')
    write_miniature_data(root / 'data')
    (root / 'ext').symlink_to(REPO_ROOT / 'ext', target_is_directory=True)
    return root


def load_config(name: str, work_dir: Path, extra_options=None) -> Config:
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    options = dict(SHRINK_OPTIONS, **{f'model.backbone.{key}': copy.deepcopy(value)
                                      for key, value in TINY_BACKBONE.items()})
    options.update(extra_options or {})
    return setup_config(cfg, str(CONFIG_DIR / name), work_dir=str(work_dir), cfg_options=options)


def training_sources(cfg: Config) -> list:
    dataset = cfg.train_dataloader.dataset
    return list(dataset.datasets) if 'datasets' in dataset else [dataset]


def first_sample(dataset_cfg) -> dict:
    dataset = DATASETS.build(copy.deepcopy(dataset_cfg))
    assert len(dataset) > 0
    return dataset[0]


@pytest.mark.parametrize('name', PAPER_CONFIGS)
def test_config_builds_model_datasets_and_evaluator(name, workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    cfg = load_config(name, tmp_path)
    model = build_segmentor(copy.deepcopy(cfg.model))
    assert model.panoptic_head.num_queries == 10
    built_something = False
    if cfg.get('train_dataloader'):
        joint = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
        for index, (start, _) in enumerate(getattr(joint, 'source_ranges', [(0, 0)])):
            sample = joint[start]  # the source's whole training pipeline
            assert 'data_samples' in sample, f'source {index}'
        meta = joint.metainfo
        # The model predicts the classes the training labels are in (exactly for merges).
        assert vocabulary_differences(model.vocabulary, meta, 'label_maps' in meta) == []
        built_something = True
    if cfg.get('test_dataloader'):
        test_tasks = [(cfg.test_dataloader, cfg.test_evaluator)] + [
            (task.dataloader, task.evaluator)
            for task in (cfg.get('test_cfg') or {}).get('extra_tasks', [])]
        for loader, metrics in test_tasks:
            dataset = DATASETS.build(copy.deepcopy(loader.dataset))
            assert 'data_samples' in dataset[0]
            metrics = metrics if isinstance(metrics, list) else [metrics]
            evaluator = Evaluator([METRICS.build(copy.deepcopy(metric)) for metric in metrics])
            evaluator.dataset_meta = dataset.metainfo
        built_something = True
    assert built_something, f'{name} has neither training nor test data'


def test_main_config_trains_two_iterations(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    torch.manual_seed(0)
    cfg = load_config(MAIN_CONFIG, tmp_path, {
        'train_cfg': dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2),
        'param_scheduler': [],
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'default_hooks.checkpoint': dict(_delete_=True, type='CheckpointHook', interval=2,
                                         by_epoch=False),
        'default_hooks.logger': dict(type='LoggerHook', interval=1),
    })
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2
    assert (tmp_path / 'iter_2.pth').is_file()
    # auto_scale_lr: 1e-4 for 16 images per step, here one image on one process.
    assert max(runner.optim_wrapper.get_lr()['lr']) == pytest.approx(1e-4 / 16)


def _shrink_resizes(node) -> None:
    """Every test-time Resize of a pipeline (nested in clip transforms too) to fit 256x256."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _shrink_resizes(item)
    elif isinstance(node, dict):
        if getattr(node.get('type'), '__name__', node.get('type')) == 'Resize':
            node['scale'] = (256, 256)
        for value in node.values():
            _shrink_resizes(value)


def test_all_tasks_config_tests_one_model_on_every_dataset(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    torch.manual_seed(0)
    cfg = load_config('eval_omg_convl_all_tasks.py', tmp_path)
    for loader in [cfg.test_dataloader] + [task.dataloader for task in cfg.test_cfg.extra_tasks]:
        loader.num_workers = 0
        loader.persistent_workers = False
        _shrink_resizes(loader.dataset.pipeline)  # keeps the test a few seconds per task
    for task in cfg.test_cfg.extra_tasks:
        for metric in task.evaluator if isinstance(task.evaluator, list) else [task.evaluator]:
            if metric.get('prefix') == 'vipseg_vpq6':
                metric.windows = (1, 2, 3)  # the miniature videos have 3-4 frames, not 6
    metrics = build_runner(cfg).test()
    for key in ('coco_panoptic/PQ', 'coco_instance/segm_mAP', 'sem_seg/mIoU',
                'cityscapes_panoptic/PQ', 'vipseg/VPQ', 'vipseg/STQ', 'vss/mIoU',
                'davis/J&F-Mean', 'interactive/mIoU@1'):
        assert key in metrics, key
    # YouTube-VIS 2019 valid has no public GT: the results and the server's zip are written
    # (into a work_dirs/ folder that did not exist).
    for suffix in ('results.json', 'submission_file.zip'):
        assert (workspace / 'work_dirs' / f'youtube_vis_2019_results.{suffix}').is_file()
