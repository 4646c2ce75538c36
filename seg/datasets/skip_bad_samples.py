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
"""
import logging
import multiprocessing
from typing import Any, List, Mapping, Optional, Union

from mmengine.logging import print_log
from torch.utils.data import Dataset

from seg.registry import DATASETS

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

    def __init__(self, dataset: Union[Mapping, Dataset], max_skips: Optional[int] = None) -> None:
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
        self.skipped.append(dict(index=index, img_path=path, error=f'{type(error).__name__}: '
                                                                   f'{error}'))
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
