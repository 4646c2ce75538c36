"""The toy config shrunk for in-process runner tests, set up as tools/train.py does; helpers
for tests that spawn gloo ranks."""
import queue as queue_module
import socket
from pathlib import Path

import pytest
from mmengine.config import Config

from seg.engine.runner_setup import setup_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def _toy_runner_cfg(work_dir: Path, data_root: Path, model: dict, max_iters: int = 3,
                    **options) -> Config:
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.model = model
    overrides = {
        'train_dataloader.dataset.data_root': f'{data_root}/',
        'model.vocabulary.ann_file': f'{data_root}/annotations/panoptic_train2017.json',
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_cfg.max_iters': max_iters, 'train_cfg.val_interval': max_iters + 1,
        'val_dataloader': None, 'val_evaluator': None, 'val_cfg': None,
        'train_dataloader.dataset.pipeline.3.scale': (64, 64),
        'train_dataloader.dataset.pipeline.4.crop_size': (64, 64),
        'default_hooks.checkpoint.interval': 1000, 'default_hooks.checkpoint.save_last': False,
        'default_hooks.logger.interval': 1, 'randomness.seed': 0,
    }
    overrides.update(options)
    return setup_config(cfg, str(TOY_CONFIG), work_dir=str(work_dir), cfg_options=overrides)


@pytest.fixture
def toy_runner_cfg(tiny_cfg):
    """toy_runner_cfg(work_dir, data_root, max_iters=3, **cfg_options) -> set-up Config of the
    toy config with the tiny test model and 64x64 crops."""
    return lambda work_dir, data_root, **kwargs: _toy_runner_cfg(work_dir, data_root, tiny_cfg,
                                                                 **kwargs)


@pytest.fixture
def free_port() -> int:
    """A free TCP port on localhost for a gloo rendezvous."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def collect_rank_results():
    """collect_rank_results(queue, processes) -> {rank: result}: waits for every spawned rank's
    ``(rank, result)`` message (a string result is a worker's traceback: the test fails with
    it) and for the processes to exit cleanly."""
    def collect(queue, processes) -> dict:
        results = {}
        while len(results) < len(processes):
            try:
                rank, result = queue.get(timeout=5)
            except queue_module.Empty:
                assert all(p.is_alive() for p in processes), 'a worker died silently'
                continue
            assert not isinstance(result, str), f'rank {rank} failed:\n{result}'
            results[rank] = result
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        return results
    return collect
