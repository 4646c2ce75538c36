"""A training run that meets a bad sample in the middle (issue 19), through the calls of
tools/train.py on the shrunk toy config (4 iterations of batch 2, no shuffling, a checkpoint
every 2 iterations; sample 5 is read in iteration 3):

* with ``SkipBadSamplesDataset`` the run goes on; the skipped file is in the log and in
  ``<work_dir>/skipped_samples.json`` next to the checkpoints;
* without it the run stops with an error naming the file after ``iter_2.pth``; once the file is
  fixed, ``--resume`` continues from that checkpoint to the end.
"""
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from seg.engine import load_checkpoint_file
from seg.engine.runner_setup import build_runner, setup_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'
BAD_INDEX = 5


def load_train_tool():
    spec = importlib.util.spec_from_file_location('train_tool_bad_sample',
                                                  REPO_ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def toy_cfg(data_root: Path, work_dir: Path, skip: bool, resume: bool = False) -> Config:
    cfg = Config.fromfile(str(TOY_CONFIG))
    options = {
        'train_dataloader.dataset.data_root': f'{data_root}/',
        'model.vocabulary.ann_file': f'{data_root}/annotations/panoptic_train2017.json',
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.sampler.shuffle': False,
        'train_cfg.max_iters': 4, 'train_cfg.val_interval': 5,
        'model.panoptic_head.num_queries': 4,
        'model.panoptic_head.transformer_decoder.num_layers': 1,
        'model.train_cfg.num_points': 64,
        'default_hooks.checkpoint.interval': 2, 'default_hooks.logger.interval': 1,
        'randomness.seed': 0,
    }
    setup_config(cfg, str(TOY_CONFIG), work_dir=str(work_dir), cfg_options=options,
                 launcher='none', amp=False)
    if skip:
        cfg.train_dataloader.dataset = dict(type='SkipBadSamplesDataset',
                                            dataset=cfg.train_dataloader.dataset)
    if resume:   # tools/train.py --resume
        cfg.resume = True
        cfg.load_from = None
    load_train_tool().add_skipped_samples_hook(cfg)
    return cfg


@pytest.fixture
def data_with_a_bad_sample(toy_data_root, tmp_path):
    root = Path(shutil.copytree(toy_data_root, tmp_path / 'toy'))
    images = json.loads((root / 'annotations' / 'panoptic_train2017.json').read_text())['images']
    bad = root / 'train2017' / images[BAD_INDEX]['file_name']
    good = bad.read_bytes()
    bad.write_bytes(good[:len(good) // 3])   # cut short, as by an interrupted copy
    return root, bad, good


def run_log(runner) -> str:
    return (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()


def test_skip_on_goes_on_and_lists_the_file(data_with_a_bad_sample, tmp_path):
    root, bad, _ = data_with_a_bad_sample
    work_dir = tmp_path / 'work'
    torch.manual_seed(0)
    runner = build_runner(toy_cfg(root, work_dir, skip=True))
    runner.train()
    assert load_checkpoint_file(str(work_dir / 'iter_4.pth'))['meta']['iter'] == 4
    listing = json.loads((work_dir / 'skipped_samples.json').read_text())
    assert listing['num_skipped'] == 1
    record = listing['samples'][0]
    assert record['index'] == BAD_INDEX and record['img_path'] == str(bad)
    assert record['error'].startswith('ValueError: cannot decode image file')
    log = run_log(runner)
    assert f'skipping bad sample {BAD_INDEX} ({bad})' in log
    assert f'1 bad training sample(s) skipped so far, listed in {work_dir}' in log


def test_skip_off_stops_naming_the_file_and_resume_continues_after_the_fix(
        data_with_a_bad_sample, tmp_path):
    root, bad, good = data_with_a_bad_sample
    work_dir = tmp_path / 'work'
    torch.manual_seed(0)
    runner = build_runner(toy_cfg(root, work_dir, skip=False))
    with pytest.raises(ValueError, match=f'cannot decode image file {bad}'):
        runner.train()
    assert (work_dir / 'iter_2.pth').is_file() and not (work_dir / 'iter_4.pth').exists()
    assert not (work_dir / 'skipped_samples.json').exists()

    bad.write_bytes(good)   # the file is fixed
    runner = build_runner(toy_cfg(root, work_dir, skip=False, resume=True))
    runner.train()
    assert runner.iter == 4
    log = run_log(runner)
    assert 'resumed' in log.lower() and 'Iter(train) [3/4]' in log
    assert 'Iter(train) [1/4]' not in log and 'Iter(train) [2/4]' not in log
    final = load_checkpoint_file(str(work_dir / 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    steps = [float(torch.as_tensor(state['step']))
             for state in final['optimizer']['state'].values()]
    assert max(steps) == 4   # 2 optimiser steps before the failure, 2 after resuming


class _OneBadSample(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 1:
            raise ValueError('cannot decode image file /data/b.jpg (0 bytes)')
        return index

    def get_data_info(self, index):
        return dict(img_path=f'/data/{"abcd"[index]}.jpg')


def test_skips_in_data_loader_workers_reach_the_record_file(tmp_path):
    from seg.datasets.skip_bad_samples import (SkipBadSamplesDataset, read_skip_records,
                                               skip_wrappers)
    record_file = tmp_path / 'skipped_samples.jsonl'
    wrapped = SkipBadSamplesDataset(_OneBadSample(), record_file=str(record_file))
    assert skip_wrappers(torch.utils.data.ConcatDataset([wrapped])) == [wrapped]
    loader = torch.utils.data.DataLoader(wrapped, batch_size=2, num_workers=2)
    assert sorted(int(x) for batch in loader for x in batch) == [0, 2, 2, 3]
    assert wrapped.skipped == []   # the workers' own lists are lost with them...
    records = read_skip_records(record_file)   # ...their lines are not
    assert records == [dict(index=1, img_path='/data/b.jpg',
                            error='ValueError: cannot decode image file /data/b.jpg (0 bytes)')]
    assert wrapped.num_skipped == 1
