"""Checkpoints that survive a kill at any moment and resume exactly.

MMEngine's ``CheckpointHook`` deletes the oldest checkpoint *before* writing the new one and
writes both the checkpoint and the ``last_checkpoint`` pointer in place, so a kill while saving
can leave a truncated file, or no usable checkpoint at all. ``AtomicCheckpointHook`` writes
every file to a hidden temporary name, renames it once complete, then updates the pointer (also
by rename), and only then deletes outdated checkpoints. It also stores each rank's random
number generator state and restores it on resume, so a resumed run draws the same random
numbers as an uninterrupted one.
"""
import glob
import logging
import os
import os.path as osp
from typing import Callable, List, Optional

from mmengine.dist import all_gather_object, get_rank, get_world_size, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from seg.registry import HOOKS
from .random_state import RestoreAfterSkip, capture_rng_state, restore_rng_state

PARTIAL_SUFFIX = '.partial'


def partial_name(filename: str) -> str:
    """Temporary (hidden) name a checkpoint is written under before being renamed."""
    return f'.{filename}{PARTIAL_SUFFIX}'


def write_text_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new content, never a
    mix (temporary file + fsync + rename)."""
    temporary = osp.join(osp.dirname(path) or '.', partial_name(osp.basename(path)))
    with open(temporary, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(osp.dirname(path) or '.')


def _fsync_file(path: str) -> None:
    if osp.isfile(path):
        with open(path, 'rb') as handle:
            os.fsync(handle.fileno())


def _fsync_directory(path: str) -> None:
    # Makes the rename durable; not every platform can open a directory.
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) with atomic writes and exact resumption.

    * each checkpoint is written as ``.<name>.partial`` and renamed when complete;
    * ``last_checkpoint`` is rewritten atomically after that rename;
    * outdated checkpoints (``max_keep_ckpts``) are removed only after both;
    * leftover ``.partial`` files of a killed run are deleted when training starts;
    * ``rng_states`` (one entry per rank) is stored in the checkpoint and restored on resume
      right before the first new batch is drawn; validation during training leaves the random
      states as it found them.

    Remote ``out_dir`` backends fall back to MMEngine's writing (no atomic rename there).
    """

    # Per-instance once assigned; class-level defaults keep CheckpointHook's signature.
    _rng_states_to_save: Optional[List[dict]] = None
    _loaded_rng_states: Optional[List[dict]] = None
    _rng_before_val: Optional[dict] = None

    # ------------------------------------------------------------------ saving
    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self._is_local() and is_main_process():
            for leftover in glob.glob(osp.join(self.out_dir, f'.*{PARTIAL_SUFFIX}')):
                print_log(f'removing {leftover}, a checkpoint left incomplete by an '
                          'interrupted run', logger='current')
                os.remove(leftover)
        self._schedule_rng_restore(runner)

    def _is_local(self) -> bool:
        return isinstance(getattr(self, 'file_backend', None), LocalBackend)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._is_local():
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        # keep_ckpt_ids exists only with max_keep_ckpts > 0 (see CheckpointHook.before_train).
        kept_before = list(self.keep_ckpt_ids) if self.max_keep_ckpts > 0 else None
        last_before = getattr(self, 'last_ckpt', None)
        # The saved message hub must already list this checkpoint (resume reads it back).
        outdated = self._register_kept_step(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        # Every rank takes part in the gather; only the main process writes.
        states = capture_rng_state()
        self._rng_states_to_save = all_gather_object(states) if get_world_size() > 1 else [states]
        try:
            self._save_atomically(runner.save_checkpoint, self.out_dir, filename,
                                  self.file_client_args, save_optimizer=self.save_optimizer,
                                  save_param_scheduler=self.save_param_scheduler, meta=meta,
                                  by_epoch=self.by_epoch, backend_args=self.backend_args,
                                  **self.args)
        except BaseException:
            # Not saved: the previous checkpoints stay the kept ones.
            if kept_before is not None:
                self.keep_ckpt_ids = type(self.keep_ckpt_ids)(kept_before,
                                                              self.keep_ckpt_ids.maxlen)
                runner.message_hub.update_info('keep_ckpt_ids', kept_before)
            self.last_ckpt = last_before
            if last_before is not None:
                runner.message_hub.update_info('last_ckpt', last_before)
            raise
        finally:
            self._rng_states_to_save = None
        if not is_main_process():
            return
        write_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in outdated:
            old_path = self.file_backend.join_path(self.out_dir,
                                                   self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(old_path):
                self.file_backend.remove(old_path)
            elif self.file_backend.isdir(old_path):
                self.file_backend.rmtree(old_path)

    def _register_kept_step(self, runner, step: int) -> List[int]:
        """Record ``step`` among the kept checkpoints; return the steps to delete afterwards."""
        if self.max_keep_ckpts <= 0:
            return []
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return []
        outdated = []
        while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
            outdated.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return outdated

    @staticmethod
    def _save_atomically(save: Callable, out_dir: str, filename: str, *args, **kwargs) -> None:
        """Call ``save(out_dir, <temporary name>, ...)`` then rename the result to ``filename``."""
        save(out_dir, partial_name(filename), *args, **kwargs)
        if not is_main_process():
            return
        temporary, final = osp.join(out_dir, partial_name(filename)), osp.join(out_dir, filename)
        _fsync_file(temporary)
        os.replace(temporary, final)
        _fsync_directory(out_dir)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._is_local():
            super()._save_best_checkpoint(runner, metrics)
            return
        plain_save = runner.save_checkpoint
        runner.save_checkpoint = lambda out_dir, filename, *args, **kwargs: \
            self._save_atomically(plain_save, out_dir, filename, *args, **kwargs)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            del runner.save_checkpoint  # back to the class method

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = self._rng_states_to_save
        if states is None and get_world_size() == 1:
            states = [capture_rng_state()]
        if states is not None:
            checkpoint['rng_states'] = states

    # Validation inside training must not move the training random streams (its data loader
    # draws a seed), or a run resumed from a checkpoint saved just before validation would
    # diverge from the uninterrupted one.
    def before_val(self, runner) -> None:
        self._rng_before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._rng_before_val is not None:
            restore_rng_state(self._rng_before_val)
            self._rng_before_val = None

    # ------------------------------------------------------------------ resuming
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded_rng_states = checkpoint.get('rng_states')

    def _schedule_rng_restore(self, runner) -> None:
        states, self._loaded_rng_states = self._loaded_rng_states, None
        resumed = runner.iter > 0 or runner.epoch > 0
        if states is None or not resumed:
            return  # fresh start, or load_from (weights only): keep this run's own seeding
        world_size, rank = get_world_size(), get_rank()
        if len(states) != world_size:
            print_log(f'the checkpoint holds random states of {len(states)} rank(s), this run has '
                      f'{world_size}: random augmentation will not repeat the interrupted run',
                      logger='current', level=logging.WARNING)
            return
        state = states[rank]
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            def reinstall(iterator) -> None:
                loop.dataloader_iterator = iterator

            loop.dataloader_iterator = RestoreAfterSkip(
                loop.dataloader_iterator, loop.iter, lambda: restore_rng_state(state), reinstall)
        else:
            restore_rng_state(state)
