"""Batches drawn from one source dataset at a time, grouped by aspect ratio, DDP-consistent.

Joint training mixes image, clip and prompt samples, which take different paths through the
model; a batch must not mix them, and under DDP every rank must take the same path at the same
step (otherwise ranks wait on gradients of parameters the others never used). The reference
avoided both with one sample per GPU and an aspect-ratio sampler per rank; here any batch size
works:

every epoch, with a generator seeded identically on all ranks (the wrapped sampler's ``seed``
and ``epoch``), each (source, aspect group) index list is shuffled and cut into *global steps*
of ``world_size * batch_size`` indices (the last one topped up by wrapping around the group, as
``DistributedSampler`` pads), the steps of all groups are shuffled together, and rank ``r``
takes slice ``r`` of each step. So each step is single-source and single-aspect on every rank,
all ranks see the same source at the same step, and sources are visited in proportion to their
(repeated) sizes.
"""
import math
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from seg.registry import DATA_SAMPLERS

LANDSCAPE, PORTRAIT, UNKNOWN_SIZE = 0, 1, 2


def aspect_group(size: Optional[Sequence[int]]) -> int:
    """Aspect group of an (height, width) size: landscape (w >= h), portrait, or unknown."""
    if size is None:
        return UNKNOWN_SIZE
    height, width = size
    return LANDSCAPE if width >= height else PORTRAIT


@DATA_SAMPLERS.register_module()
class SingleSourceBatchSampler(Sampler):
    """Batch sampler for :class:`seg.datasets.JointDataset` (see the module doc).

    Args:
        sampler: the dataloader's sampler (mmengine builds it from ``sampler=``); only its
            ``dataset``, ``shuffle``, ``seed`` and ``epoch`` are used (``set_epoch`` reaches it).
        batch_size: samples per rank and step.
        group_by_aspect_ratio: also keep landscape and portrait samples apart (sizes from the
            annotations; samples whose size the annotation does not give form their own group).

    A dataset without ``source_ranges`` counts as a single source.
    """

    def __init__(self, sampler: Sampler, batch_size: int,
                 group_by_aspect_ratio: bool = True) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}')
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None:
            raise TypeError(f'{type(sampler).__name__} has no dataset: wrap a sampler such as '
                            'mmengine DefaultSampler')
        self.sampler = sampler
        self.batch_size = batch_size
        self.rank, self.world_size = get_dist_info()
        ranges = getattr(dataset, 'source_ranges', ((0, len(dataset)),))
        use_sizes = group_by_aspect_ratio and hasattr(dataset, 'image_size')
        locate = getattr(dataset, 'locate', lambda index: index)
        keys = {}  # repeated copies of a sample share its annotation: look it up once
        self.groups: List[List[int]] = []
        for start, stop in ranges:
            by_aspect = {}
            for index in range(start, stop):
                key = 0
                if use_sizes:
                    where = locate(index)
                    if where not in keys:
                        keys[where] = aspect_group(dataset.image_size(index))
                    key = keys[where]
                by_aspect.setdefault(key, []).append(index)
            self.groups.extend(by_aspect[key] for key in sorted(by_aspect))
        if not self.groups:
            raise ValueError('SingleSourceBatchSampler: the dataset is empty')

    @property
    def step_size(self) -> int:
        return self.world_size * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def global_steps(self) -> List[List[int]]:
        """This epoch's steps, ``step_size`` indices each, identical on every rank."""
        shuffle = getattr(self.sampler, 'shuffle', True)
        generator = torch.Generator()
        generator.manual_seed(int(getattr(self.sampler, 'seed', 0) or 0)
                              + int(getattr(self.sampler, 'epoch', 0)))
        steps = []
        for group in self.groups:
            order = (torch.randperm(len(group), generator=generator).tolist() if shuffle
                     else list(range(len(group))))
            num_steps = math.ceil(len(group) / self.step_size)
            wrapped = [group[order[k % len(group)]] for k in range(num_steps * self.step_size)]
            steps.extend(wrapped[s * self.step_size:(s + 1) * self.step_size]
                         for s in range(num_steps))
        if shuffle:
            steps = [steps[k] for k in torch.randperm(len(steps), generator=generator).tolist()]
        return steps

    def __iter__(self) -> Iterator[List[int]]:
        start = self.rank * self.batch_size
        for step in self.global_steps():
            yield step[start:start + self.batch_size]

    def __len__(self) -> int:
        return sum(math.ceil(len(group) / self.step_size) for group in self.groups)
