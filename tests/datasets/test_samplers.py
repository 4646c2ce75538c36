"""SingleSourceBatchSampler: single-source, single-aspect batches; every rank on the same
source at every step; every sample visited; epochs reshuffle; runner-built as configs do."""
import pytest
from mmengine.dataset import DefaultSampler

import seg.datasets.samplers as samplers_module
from seg.datasets import SingleSourceBatchSampler
from seg.registry import DATA_SAMPLERS


class FakeJointDataset:
    """Three sources of 7, 4 and 5 samples; sizes alternate landscape / portrait."""

    def __init__(self, sizes=(7, 4, 5)):
        self.ranges = []
        start = 0
        for size in sizes:
            self.ranges.append((start, start + size))
            start += size
        self.length = start

    def __len__(self):
        return self.length

    @property
    def source_ranges(self):
        return tuple(self.ranges)

    def source_of(self, index):
        return next(s for s, (a, b) in enumerate(self.ranges) if a <= index < b)

    def image_size(self, index):
        if index == 15:
            return None  # annotation without a size
        return (100, 200) if index % 3 else (200, 100)


def build(dataset, batch_size, rank=0, world_size=1, epoch=0, monkeypatch=None, **kwargs):
    monkeypatch.setattr(samplers_module, 'get_dist_info', lambda: (rank, world_size))
    sampler = DefaultSampler(dataset, shuffle=True, seed=123)
    sampler.set_epoch(epoch)
    return SingleSourceBatchSampler(sampler, batch_size, **kwargs)


def test_batches_are_single_source_and_single_aspect(monkeypatch):
    dataset = FakeJointDataset()
    batch_sampler = build(dataset, 2, monkeypatch=monkeypatch)
    batches = list(batch_sampler)
    assert len(batches) == len(batch_sampler)
    for batch in batches:
        assert len(batch) == 2
        assert len({dataset.source_of(i) for i in batch}) == 1
        assert len({samplers_module.aspect_group(dataset.image_size(i)) for i in batch}) == 1
    assert {i for batch in batches for i in batch} == set(range(len(dataset)))


def test_all_ranks_take_the_same_source_at_every_step(monkeypatch):
    dataset = FakeJointDataset()
    per_rank = [list(build(dataset, 2, rank=r, world_size=3, monkeypatch=monkeypatch))
                for r in range(3)]
    assert len({len(batches) for batches in per_rank}) == 1
    for step in zip(*per_rank):
        assert len({dataset.source_of(i) for batch in step for i in batch}) == 1
    seen = {i for batches in per_rank for batch in batches for i in batch}
    assert seen == set(range(len(dataset)))  # short groups are topped up by wrapping around


def test_epochs_reshuffle_deterministically(monkeypatch):
    dataset = FakeJointDataset()
    first = list(build(dataset, 2, epoch=0, monkeypatch=monkeypatch))
    again = list(build(dataset, 2, epoch=0, monkeypatch=monkeypatch))
    second = list(build(dataset, 2, epoch=1, monkeypatch=monkeypatch))
    assert first == again and first != second


def test_plain_datasets_are_one_source_and_grouping_can_be_disabled(monkeypatch):
    dataset = list(range(10))
    batch_sampler = build(dataset, 4, monkeypatch=monkeypatch)
    assert len(batch_sampler) == 3
    ungrouped = build(FakeJointDataset(), 2, monkeypatch=monkeypatch,
                      group_by_aspect_ratio=False)
    assert len(ungrouped) == 4 + 2 + 3


def test_registry_builds_it_as_the_runner_does(monkeypatch):
    monkeypatch.setattr(samplers_module, 'get_dist_info', lambda: (0, 1))
    sampler = DefaultSampler(FakeJointDataset(), shuffle=False)
    built = DATA_SAMPLERS.build(dict(type='SingleSourceBatchSampler'),
                                default_args=dict(sampler=sampler, batch_size=3))
    assert isinstance(built, SingleSourceBatchSampler)
    with pytest.raises(ValueError, match='batch_size'):
        SingleSourceBatchSampler(sampler, 0)
