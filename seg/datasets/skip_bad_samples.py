"""Opt-in skipping of unreadable training samples.

By default a bad sample (missing or corrupt image, annotation PNG inconsistent with the json...)
stops training with an error naming the file. Wrapping the training dataset in
``SkipBadSamplesDataset`` instead logs the error, counts it, and serves the next readable
sample, so a few damaged files in a huge dataset do not end a long run::

    train_dataloader = dict(dataset=dict(type='SkipBadSamplesDataset', max_skips=100,
                                         dataset=dict(type='CocoPanopticDataset', ...)))

Only data errors are skipped (``OSError`` such as ``FileNotFoundError``, and ``ValueError``,
which this package's readers and transforms raise for bad data); other exceptions (usually a
configuration bug) still propagate. Evaluation datasets cannot be wrapped: replacing a test
sample would change the metrics.

Where the run keeps its checkpoints, :class:`SkippedSamplesHook` (added by ``tools/train.py``
whenever the training dataset uses this wrapper) lists the skipped files: every data-loader
worker appends each skip to ``<work_dir>/skipped_samples.jsonl`` as it happens, and the hook
writes ``<work_dir>/skipped_samples.json`` (count + records) with every checkpoint and at the
end of training; a resumed run keeps adding to the same files.
"""
import json
import logging
import multiprocessing
import os
from pathlib import Path
from typing import Any, List, Mapping, Optional, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from torch.utils.data import Dataset

from seg.registry import DATASETS, HOOKS

SKIPPED_SAMPLES_FILE = 'skipped_samples.json'
SKIPPED_SAMPLES_LOG = 'skipped_samples.jsonl'

SKIPPED_ERRORS = (OSError, ValueError)


@DATASETS.register_module()
class SkipBadSamplesDataset(Dataset):
    """Serve ``dataset[idx]``, or the next readable sample when that one raises a data error.

    Args:
        dataset: the wrapped dataset (a config or an instance).
        max_skips: stop with the last error once more samples than this were skipped in total
            (over all data-loader workers); ``None`` for no limit.

    Every skip is logged as a warning with the index, the sample's ``img_path`` and the error,
    and counted in :attr:`num_skipped` (shared by the data-loader worker processes) and
    :attr:`skipped` (the records of this process).
    """

    def __init__(self, dataset: Union[Mapping, Dataset], max_skips: Optional[int] = None,
                 record_file: Optional[str] = None) -> None:
        if isinstance(dataset, Mapping):
            dataset = DATASETS.build(dataset)
        if not isinstance(dataset, Dataset) or not hasattr(dataset, '__len__'):
            raise TypeError(f'SkipBadSamplesDataset needs a dataset with a length, got '
                            f'{type(dataset).__name__}')
        if getattr(dataset, 'test_mode', False):
            raise ValueError('SkipBadSamplesDataset is for training data only: skipping a test '
                             'sample would change the evaluation results')
        if max_skips is not None and max_skips < 0:
            raise ValueError(f'max_skips must be >= 0 or None, got {max_skips}')
        self.dataset = dataset
        self.max_skips = max_skips
        self.skipped: List[dict] = []
        # One json line per skip, appended by whichever process skips (see SkippedSamplesHook).
        self.record_file = record_file
        # Shared memory, so that worker processes add to one total.
        self._shared_count = multiprocessing.Value('i', 0)

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    @property
    def num_skipped(self) -> int:
        """Samples skipped so far by every process that uses this dataset."""
        return self._shared_count.value

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> Any:
        size = len(self.dataset)
        for offset in range(size):
            index = (idx + offset) % size
            try:
                return self.dataset[index]
            except SKIPPED_ERRORS as error:
                self._record_skip(index, error)
        raise RuntimeError(f'SkipBadSamplesDataset: every one of the {size} samples failed to '
                           'load; see the warnings above')

    def _record_skip(self, index: int, error: Exception) -> None:
        with self._shared_count.get_lock():
            self._shared_count.value += 1
            total = self._shared_count.value
        path = self._sample_path(index)
        record = dict(index=index, img_path=path, error=f'{type(error).__name__}: {error}')
        self.skipped.append(record)
        if self.record_file is not None:
            # One write of one line in append mode: lines of several workers do not mix.
            line = (json.dumps(record) + '\n').encode()
            descriptor = os.open(self.record_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, line)
            finally:
                os.close(descriptor)
        print_log(f'skipping bad sample {index} ({path}): {type(error).__name__}: {error} '
                  f'[{total} sample(s) skipped so far]', logger='current', level=logging.WARNING)
        if self.max_skips is not None and total > self.max_skips:
            raise RuntimeError(f'SkipBadSamplesDataset: {total} bad samples exceed max_skips='
                               f'{self.max_skips}; the last one was sample {index} ({path}): '
                               f'{type(error).__name__}: {error}') from error

    def _sample_path(self, index: int) -> Optional[str]:
        try:
            return self.dataset.get_data_info(index).get('img_path')
        except Exception:  # a dataset without get_data_info, or a broken info
            return None


def skip_wrappers(dataset) -> List[SkipBadSamplesDataset]:
    """The ``SkipBadSamplesDataset`` instances in ``dataset`` and the datasets it wraps."""
    found, stack = [], [dataset]
    while stack:
        current = stack.pop()
        if isinstance(current, SkipBadSamplesDataset):
            found.append(current)
        inner = getattr(current, 'dataset', None)
        if isinstance(inner, Dataset):
            stack.append(inner)
        stack.extend(d for d in getattr(current, 'datasets', ()) or () if isinstance(d, Dataset))
    return found


def read_skip_records(record_file: Union[str, Path]) -> List[dict]:
    """The records of a ``skipped_samples.jsonl`` (none if it does not exist)."""
    path = Path(record_file)
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}, line {number}: not json ({error})') from None
    return records


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """Lists the training samples ``SkipBadSamplesDataset`` skipped next to the checkpoints:
    ``<work_dir>/skipped_samples.json`` = ``{"num_skipped": N, "samples": [{"index",
    "img_path", "error"}, ...]}``, rewritten with every checkpoint and at the end of training,
    and a log line with the count. Does nothing when the training data has no such wrapper."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.record_file: Optional[Path] = None

    def before_train(self, runner) -> None:
        wrappers = skip_wrappers(runner.train_dataloader.dataset)
        if not wrappers:
            return
        self.record_file = Path(runner.work_dir) / SKIPPED_SAMPLES_LOG
        for wrapper in wrappers:
            if wrapper.record_file is None:
                wrapper.record_file = str(self.record_file)
            elif Path(wrapper.record_file) != self.record_file:
                raise ValueError(f'SkipBadSamplesDataset.record_file={wrapper.record_file!r}: '
                                 f'the run lists skipped samples in {self.record_file}; leave '
                                 'record_file unset')

    def write_summary(self, runner) -> Optional[Path]:
        if self.record_file is None:
            return None
        records = read_skip_records(self.record_file)
        target = Path(runner.work_dir) / SKIPPED_SAMPLES_FILE
        temporary = target.with_suffix('.json.tmp')
        temporary.write_text(json.dumps(dict(num_skipped=len(records), samples=records),
                                        indent=1) + '\n')
        os.replace(temporary, target)
        if records:
            runner.logger.warning(f'{len(records)} bad training sample(s) skipped so far, '
                                  f'listed in {target}')
        return target

    def after_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.write_summary(runner)

    def after_train(self, runner) -> None:
        self.write_summary(runner)
