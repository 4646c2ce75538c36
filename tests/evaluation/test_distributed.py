"""Metrics evaluated by two gloo processes equal the single-process result (no duplicates)."""
import socket

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from seg.registry import METRICS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _sampler_indices(size: int, rank: int, world_size: int) -> list:
    """mmengine DefaultSampler(shuffle=False): pad by repeating the start, then stride."""
    total = -(-size // world_size) * world_size
    indices = (list(range(size)) * 2)[:total]
    return indices[rank:total:world_size]


def _worker(rank: int, world_size: int, port: int, samples: list, meta: dict, cfgs: list,
            queue) -> None:
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size)
    try:
        results = []
        for cfg in cfgs:
            metric = METRICS.build(cfg)
            metric.dataset_meta = meta
            for index in _sampler_indices(len(samples), rank, world_size):
                metric.process({}, [samples[index]])
            results.append(metric.evaluate(len(samples)))
        queue.put((rank, results))
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_equal_one_process(image_samples, panoptic_meta):
    samples = image_samples[:5]  # odd size: the sampler pads rank 1 with sample 0
    cfgs = [dict(type='CocoPanopticMetric'), dict(type='CocoInstanceMetric'),
            dict(type='SemSegMetric')]
    single = []
    for cfg in cfgs:
        metric = METRICS.build(cfg)
        metric.dataset_meta = panoptic_meta
        metric.process({}, samples)
        single.append(metric.evaluate(len(samples)))

    context = mp.get_context('spawn')
    queue = context.Queue()
    port = _free_port()
    processes = [context.Process(target=_worker, args=(rank, 2, port, samples, panoptic_meta,
                                                       cfgs, queue)) for rank in range(2)]
    for process in processes:
        process.start()
    outputs = dict(queue.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    for rank in (0, 1):  # every rank receives the broadcast result
        for got, want in zip(outputs[rank], single):
            assert got.keys() == want.keys()
            for key in want:
                assert got[key] == pytest.approx(want[key], abs=1e-12), key
