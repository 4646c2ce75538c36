"""tools/train.py on the toy config: a killed run resumes from its last checkpoint.

Runs the real command-line tool in a subprocess (as a user would), shrunk through
--cfg-options: tiny data, batch 2, a checkpoint every 2 iterations.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from seg.engine import load_checkpoint_file

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def toy_options(data_root: Path, max_iters: int) -> list:
    root = f'{data_root}/'
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'model.vocabulary.ann_file={data_root}/annotations/panoptic_train2017.json',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        f'train_cfg.max_iters={max_iters}', f'train_cfg.val_interval={max_iters + 1}',
        'val_dataloader=None', 'val_evaluator=None', 'val_cfg=None',
        'model.panoptic_head.num_queries=6', 'model.panoptic_head.transformer_decoder.num_layers=2',
        'model.train_cfg.num_points=128',
        'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=10',
        'default_hooks.logger.interval=1', 'randomness.seed=0',
    ]


def train_command(work_dir: Path, data_root: Path, max_iters: int, resume: bool = False) -> list:
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), str(TOY_CONFIG),
               '--work-dir', str(work_dir)]
    if resume:
        command.append('--resume')
    return command + ['--cfg-options'] + toy_options(data_root, max_iters)


def test_killed_training_resumes_from_last_checkpoint(tmp_path, toy_data_root):
    work_dir = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    process = subprocess.Popen(train_command(work_dir, toy_data_root, max_iters=1000),
                               cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    checkpoint = work_dir / 'iter_4.pth'
    deadline = time.time() + 240
    try:
        while not (work_dir / 'last_checkpoint').is_file() or \
                'iter_4.pth' not in (work_dir / 'last_checkpoint').read_text():
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.time() < deadline, 'no checkpoint after 240 s'
            time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert checkpoint.is_file()

    saved = load_checkpoint_file(str(checkpoint))
    assert saved['meta']['iter'] == 4
    assert any(key.startswith('panoptic_head.') for key in saved['state_dict'])

    resumed = subprocess.run(train_command(work_dir, toy_data_root, max_iters=6, resume=True),
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert 'resumed' in log.lower()
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [1/6]' not in log
    final = load_checkpoint_file(str(work_dir / 'iter_6.pth'))
    assert final['meta']['iter'] == 6
    # The optimiser state continued (AdamW steps counted from the first run).
    steps = [state['step'] for state in final['optimizer']['state'].values()]
    assert max(float(torch.as_tensor(step)) for step in steps) == 6


def test_checkpoint_loader_refuses_code_execution(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ('echo pwned',))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': Payload()}, path)
    import pytest
    with pytest.raises(ValueError, match='evil.pth'):
        load_checkpoint_file(str(path))
