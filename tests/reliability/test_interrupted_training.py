"""A run killed while writing a checkpoint resumes from the previous one and repeats the
uninterrupted run's losses exactly (CPU, same seed, num_workers=0)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from seg.engine import load_checkpoint_file

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_TOOL = REPO_ROOT / 'tools' / 'train.py'
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'

# Runs tools/train.py, but SIGKILLs the process halfway through writing the file of the
# iteration-4 checkpoint (whatever temporary name the writer uses).
KILL_WHILE_SAVING = '''
import os, runpy, signal, sys
from mmengine.fileio.backends import local_backend

plain_put = local_backend.LocalBackend.put

def put(self, obj, filepath):
    if 'iter_4' in str(filepath):
        with open(filepath, 'wb') as handle:
            handle.write(obj[:len(obj) // 2])
            handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return plain_put(self, obj, filepath)

local_backend.LocalBackend.put = put
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def train_command(work_dir: Path, data_root: Path, resume: bool = False) -> list:
    command = [str(TRAIN_TOOL), str(TOY_CONFIG), '--work-dir', str(work_dir)]
    if resume:
        command.append('--resume')
    return command + ['--cfg-options',
                      f'train_dataloader.dataset.data_root={data_root}/',
                      f'model.vocabulary.ann_file={data_root}/annotations/panoptic_train2017.json',
                      'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                      'train_cfg.max_iters=4', 'train_cfg.val_interval=5', 'val_dataloader=None',
                      'val_evaluator=None', 'val_cfg=None', 'model.panoptic_head.num_queries=6',
                      'model.panoptic_head.transformer_decoder.num_layers=2',
                      'model.train_cfg.num_points=128', 'default_hooks.checkpoint.interval=2',
                      'default_hooks.checkpoint.max_keep_ckpts=1',
                      'default_hooks.logger.interval=1',
                      'log_processor.window_size=1', 'randomness.seed=0']


def logged_losses(work_dir: Path) -> dict:
    """iteration -> every logged loss value, from all runs in ``work_dir`` (later runs win)."""
    losses = {}
    for scalars in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            losses[record['iter']] = {key: value for key, value in record.items()
                                      if key.startswith(('loss', 'd0.', 'd1.'))}
    return losses


def test_kill_during_checkpoint_write_then_resume_repeats_the_losses(tmp_path, toy_data_root):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    work_dir = tmp_path / 'work'
    killer = tmp_path / 'kill_while_saving.py'
    killer.write_text(KILL_WHILE_SAVING)
    killed = subprocess.run([sys.executable, str(killer)] + train_command(work_dir, toy_data_root),
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, (killed.stdout + killed.stderr)[-3000:]
    uninterrupted = logged_losses(work_dir)
    assert sorted(uninterrupted) == [1, 2, 3, 4]  # iteration 4 ran, its checkpoint did not land

    # The previous checkpoint is intact and still the one pointed to.
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(work_dir / 'iter_2.pth')
    assert load_checkpoint_file(str(work_dir / 'iter_2.pth'))['meta']['iter'] == 2
    assert not (work_dir / 'iter_4.pth').exists()

    resumed = subprocess.run([sys.executable] + train_command(work_dir, toy_data_root, resume=True),
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert 'incomplete' in log  # the half-written file was found and removed
    assert sorted(path.name for path in work_dir.iterdir() if path.name.startswith('.')) == []
    again = logged_losses(work_dir)
    for iteration in (3, 4):
        assert again[iteration] == uninterrupted[iteration], iteration
    final = load_checkpoint_file(str(work_dir / 'iter_4.pth'))
    assert final['meta']['iter'] == 4
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(work_dir / 'iter_4.pth')
    assert not (work_dir / 'iter_2.pth').exists()  # max_keep_ckpts=1, removed after iter_4 landed
