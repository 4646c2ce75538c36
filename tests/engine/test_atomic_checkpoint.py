"""AtomicCheckpointHook: a crash while saving keeps the previous checkpoint and pointer; random
states survive a weights_only round trip and are restored after the resumed loop's skip."""
import random
from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.logging import MessageHub

from seg.engine import (AtomicCheckpointHook, capture_rng_state, load_checkpoint_file,
                        restore_rng_state, write_text_atomically)
from seg.engine.random_state import RestoreAfterSkip


class CrashingSaver:
    """runner.save_checkpoint stand-in: writes ``content`` to the file, or half of it and
    raises (a process killed mid-write) when ``crash`` is set."""

    def __init__(self):
        self.crash = False

    def __call__(self, out_dir, filename, *args, **kwargs):
        with open(f'{out_dir}/{filename}', 'wb') as handle:
            handle.write(b'half' if self.crash else b'complete checkpoint')
        if self.crash:
            raise KeyboardInterrupt('killed while saving')


def make_hook(tmp_path, max_keep_ckpts=1):
    hook = AtomicCheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=max_keep_ckpts)
    hook.out_dir = str(tmp_path)
    hook.file_backend = LocalBackend()
    hook.keep_ckpt_ids = deque()
    runner = SimpleNamespace(work_dir=str(tmp_path), save_checkpoint=CrashingSaver(),
                             message_hub=MessageHub.get_instance('atomic_checkpoint_test'))
    return hook, runner


def test_previous_checkpoint_and_pointer_survive_a_crash_while_saving(tmp_path):
    hook, runner = make_hook(tmp_path)
    hook._save_checkpoint_with_step(runner, 2, dict(iter=2))
    assert (tmp_path / 'iter_2.pth').read_bytes() == b'complete checkpoint'
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')

    runner.save_checkpoint.crash = True
    with pytest.raises(KeyboardInterrupt):
        hook._save_checkpoint_with_step(runner, 4, dict(iter=4))
    assert (tmp_path / 'iter_2.pth').read_bytes() == b'complete checkpoint'  # not pruned yet
    assert not (tmp_path / 'iter_4.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')
    assert (tmp_path / '.iter_4.pth.partial').read_bytes() == b'half'

    runner.save_checkpoint.crash = False
    hook._save_checkpoint_with_step(runner, 6, dict(iter=6))
    assert sorted(path.name for path in tmp_path.glob('iter_*')) == ['iter_6.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_6.pth')


def test_max_keep_ckpts_prunes_only_after_the_new_file_landed(tmp_path):
    hook, runner = make_hook(tmp_path, max_keep_ckpts=2)
    for step in (1, 2, 3):
        hook._save_checkpoint_with_step(runner, step, dict(iter=step))
    assert sorted(path.name for path in tmp_path.glob('iter_*')) == ['iter_2.pth', 'iter_3.pth']
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2, 3]


def test_write_text_atomically_replaces_the_whole_file(tmp_path):
    target = tmp_path / 'last_checkpoint'
    target.write_text('a much longer old content')
    write_text_atomically(str(target), 'new')
    assert target.read_text() == 'new'
    assert [path.name for path in tmp_path.iterdir()] == ['last_checkpoint']


def test_random_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    state = capture_rng_state()
    expected = (random.random(), np.random.rand(3), torch.rand(3))
    torch.save({'rng_states': [state]}, tmp_path / 'ckpt.pth')
    restore_rng_state(load_checkpoint_file(str(tmp_path / 'ckpt.pth'))['rng_states'][0])
    assert random.random() == expected[0]
    assert np.array_equal(np.random.rand(3), expected[1])
    assert torch.equal(torch.rand(3), expected[2])


def test_restore_happens_after_the_skipped_batches_before_the_first_new_one():
    events = []
    source = iter(range(10))
    reinstalled = []
    proxy = RestoreAfterSkip(source, skip=2, restore=lambda: events.append('restore'),
                             reinstall=reinstalled.append)
    for _ in range(3):
        events.append(next(proxy))
    assert events == [0, 1, 'restore', 2]
    assert reinstalled == [source]


def test_unlimited_checkpoints_keep_every_file(tmp_path):
    hook, runner = make_hook(tmp_path, max_keep_ckpts=-1)
    del hook.keep_ckpt_ids  # CheckpointHook only creates it for max_keep_ckpts > 0
    for step in (1, 2):
        hook._save_checkpoint_with_step(runner, step, dict(iter=step))
    runner.save_checkpoint.crash = True
    with pytest.raises(KeyboardInterrupt):
        hook._save_checkpoint_with_step(runner, 3, dict(iter=3))
    assert sorted(path.name for path in tmp_path.glob('iter_*')) == ['iter_1.pth', 'iter_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')


def test_validation_leaves_the_training_random_streams_untouched(tmp_path):
    hook, runner = make_hook(tmp_path)
    torch.manual_seed(5)
    np.random.seed(5)
    expected = (torch.rand(2), np.random.rand(2))
    torch.manual_seed(5)
    np.random.seed(5)
    hook.before_val(runner)
    torch.rand(7), np.random.rand(7)  # what validation might draw
    hook.after_val(runner)
    assert torch.equal(torch.rand(2), expected[0])
    assert np.array_equal(np.random.rand(2), expected[1])
