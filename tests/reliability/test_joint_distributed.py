"""Joint training under DDP (2 gloo processes on CPU, the toy joint config with a tiny model):
at every step both ranks train on the same source (image clips, videos or prompts), training
does not hang when consecutive steps use different parameters, and the multi-task test of the
trained checkpoint gives the same metrics on 2 processes as on 1."""
import copy
import datetime
import os
import traceback
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.hooks import Hook

from seg.models import build_segmentor
from seg.testing.toy_video_data import generate_toy_video_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINT_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_joint.py'
WORLD_SIZE = 2
MAX_ITERS = 6


class SourceRecorder(Hook):
    """Records the data tag of every training batch (all samples of a batch must agree)."""

    def __init__(self):
        self.tags = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        tags = {sample.metainfo['data_tag'] for sample in data_batch['data_samples']}
        assert len(tags) == 1, f'batch {batch_idx} mixes sources {tags}'
        self.tags.append(tags.pop())


def joint_model_cfg(tiny_cfg: dict, coco_root: Path) -> dict:
    model = copy.deepcopy(tiny_cfg)
    model['data_preprocessor']['type'] = 'VideoSegDataPreprocessor'
    model['vocabulary'] = dict(merge=[
        dict(ann_file=str(coco_root / 'annotations' / 'panoptic_train2017.json'),
             name='toy_coco'),
        dict(name='toy_video', thing_classes=['ball', 'box', 'tent'],
             stuff_classes=['sky', 'grass']),
        None])
    # The joint config's prompt encoder (its click pipeline feeds multi-point prompts).
    model['prompt_encoder'] = Config.fromfile(str(JOINT_CONFIG)).model.prompt_encoder.to_dict()
    model['interactive_test_cfg'] = dict(with_panoptic=True)
    model['video_cfg'] = dict(clip_size=5, clip_size_small=3, whole_clip_thr=0,
                              small_clip_thr=15, overlap=0, vos_on=True, num_proposals=5)
    return model


def joint_cfg(work_dir: Path, model_cfg: dict, coco_root: Path, video_root: Path,
              launcher: str) -> Config:
    from seg.engine.runner_setup import setup_config
    cfg = Config.fromfile(str(JOINT_CONFIG))
    cfg.model = model_cfg
    sources = cfg.train_dataloader.dataset.datasets
    for source in (sources[0], sources[2]):
        source.data_root = f'{coco_root}/'
    sources[1].data_root = f'{video_root}/vipseg/'
    cfg.test_dataloader.dataset.data_root = f'{coco_root}/'
    cfg.test_dataloader.dataset.indices = 3  # not divisible by the world size
    cfg.test_dataloader.batch_size = 1
    for metric in cfg.test_evaluator:
        if metric['type'].__name__ == 'InteractiveMetric':
            metric.update(max_clicks=2, stop_iou=0.9)  # the click protocol, kept short
    video_test = cfg.test_cfg.extra_tasks[0]
    video_test.dataloader.dataset.data_root = f'{video_root}/vipseg/'
    for metric in video_test.evaluator:
        if metric['type'].__name__ == 'YouTubeVISMetric':
            metric['ann_file'] = f'{video_root}/ytvis/valid.json'
    options = {'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
               'test_dataloader.num_workers': 0,
               'train_cfg.max_iters': MAX_ITERS, 'param_scheduler': [],
               'default_hooks.checkpoint.interval': MAX_ITERS,
               'default_hooks.logger.interval': 1}
    for loader in (cfg.test_dataloader, video_test.dataloader):
        loader.num_workers = 0
        loader.persistent_workers = False
    return setup_config(cfg, str(JOINT_CONFIG), work_dir=str(work_dir), cfg_options=options,
                        launcher=launcher)


def _worker(rank, port, model_cfg, coco_root, video_root, work_dir, queue):
    os.environ['LOCAL_RANK'] = str(rank)  # as torchrun sets it
    try:
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=180))
        torch.set_num_threads(1)
        from seg.engine.runner_setup import build_runner
        runner = build_runner(joint_cfg(Path(work_dir), model_cfg, Path(coco_root),
                                        Path(video_root), 'pytorch'))
        recorder = SourceRecorder()
        runner.register_hook(recorder, priority='LOWEST')
        runner.train()
        metrics = runner.test()
        queue.put((rank, (recorder.tags, metrics)))
    except BaseException:
        queue.put((rank, traceback.format_exc()))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_joint_training_keeps_ranks_on_one_source_and_tests_alike(
        tmp_path, toy_data_root, tiny_cfg, free_port, collect_rank_results):
    video_root = tmp_path / 'toy_video'
    generate_toy_video_dataset(video_root, num_train=3, num_val=2, num_frames=(3, 4), seed=1,
                               overwrite=True, log=None)
    model_cfg = joint_model_cfg(tiny_cfg, toy_data_root)
    build_segmentor(model_cfg)  # writes the text-embedding cache the workers read

    context = mp.get_context('spawn')
    queue = context.Queue()
    dist_dir = tmp_path / 'dist'
    processes = [context.Process(target=_worker, args=(
        rank, free_port, model_cfg, str(toy_data_root), str(video_root), str(dist_dir), queue))
        for rank in range(WORLD_SIZE)]
    for process in processes:
        process.start()
    try:
        results = collect_rank_results(queue, processes)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()

    (tags0, metrics0), (tags1, metrics1) = results[0], results[1]
    assert len(tags0) == MAX_ITERS and tags0 == tags1
    assert len(set(tags0)) >= 2, f'the 6 steps drew a single source: {tags0}'
    assert metrics0 == metrics1

    # The same checkpoint tested by one process: the same metrics.
    from seg.engine.runner_setup import build_runner
    checkpoint = (dist_dir / 'last_checkpoint').read_text().strip()
    cfg = joint_cfg(tmp_path / 'single', model_cfg, toy_data_root, video_root, 'none')
    cfg.load_from = checkpoint
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the ranks: float reductions split alike
    try:
        single = build_runner(cfg).test()
    finally:
        torch.set_num_threads(threads)
    assert single.keys() == metrics0.keys()
    assert any(key.startswith('vipseg/') for key in single)
    assert any(key.startswith('interactive/') for key in single)
    # A lost or repeated sample moves these few-image metrics by far more than 1e-4; a mask
    # pixel on a logit of ~0 that rounds the other way (seen once in CI: 2e-5 in mIoU@1)
    # moves them less.
    for key, value in single.items():
        assert metrics0[key] == pytest.approx(value, abs=1e-4), key
