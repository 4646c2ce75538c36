"""CUDA paths: the model on the GPU, bf16 inference, an fp16 AMP training step, two-process NCCL.

Collected everywhere; skipped, with the reason printed (``-ra``), on machines without CUDA.
On a GPU machine run ``bash tools/gpu_check.sh`` (these tests + the CUDA benchmark).
"""
import copy
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.dataset import pseudo_collate

from seg.models import build_segmentor
from seg.registry import DATASETS

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason='no CUDA device: run tools/gpu_check.sh on a GPU machine'),
]


@pytest.fixture(scope='module')
def batch(toy_data_root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                dict(type='Resize', scale=(64, 64), keep_ratio=True), dict(type='PackSegInputs')]
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(toy_data_root),
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=pipeline))
    return pseudo_collate([dataset[i] for i in range(2)])


def _models(tiny_cfg):
    torch.manual_seed(0)
    cpu = build_segmentor(copy.deepcopy(tiny_cfg)).eval()
    gpu = copy.deepcopy(cpu).cuda().eval()
    return cpu, gpu


def test_the_model_predicts_on_cuda_as_on_the_cpu(tiny_cfg, batch):
    cpu, gpu = _models(tiny_cfg)
    with torch.no_grad():
        expected = cpu.test_step(copy.deepcopy(batch))
        got = gpu.test_step(copy.deepcopy(batch))
    for ours, reference in zip(got, expected):
        ours_map = ours.pred_panoptic_seg.sem_seg.cpu()
        reference_map = reference.pred_panoptic_seg.sem_seg
        assert ours_map.shape == reference_map.shape
        assert (ours_map != reference_map).float().mean() < 0.01


def test_bf16_inference_on_cuda_stays_close_to_fp32(tiny_cfg, batch):
    _, gpu = _models(tiny_cfg)
    data = gpu.data_preprocessor(copy.deepcopy(batch), False)
    with torch.no_grad():
        expected = gpu(**data, mode='tensor').last
        with torch.autocast('cuda', dtype=torch.bfloat16):
            got = gpu(**data, mode='tensor').last
    assert got.mask_logits.dtype == torch.bfloat16
    for name in ('mask_logits', 'class_logits'):
        reference = getattr(expected, name)
        error = (getattr(got, name).float() - reference).abs().max()
        assert error <= 0.05 * reference.abs().max(), name


def test_fp16_amp_training_step_on_cuda(tiny_cfg, batch):
    _, gpu = _models(tiny_cfg)
    gpu.train()
    optimizer = torch.optim.AdamW(gpu.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler('cuda')
    data = gpu.data_preprocessor(copy.deepcopy(batch), True)
    before = [p.detach().clone() for p in gpu.parameters()]
    with torch.autocast('cuda', dtype=torch.float16):
        losses = gpu(**data, mode='loss')
    loss, _ = gpu.parse_losses(losses)
    assert torch.isfinite(loss)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    assert any(not torch.equal(a, b) for a, b in zip(before, gpu.parameters()))


def _nccl_worker(rank: int, world_size: int, port: int, tiny_cfg: dict, queue) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('nccl', rank=rank, world_size=world_size)
    try:
        torch.cuda.set_device(rank)
        torch.manual_seed(0)
        model = build_segmentor(copy.deepcopy(tiny_cfg)).cuda()
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank],
                                                        find_unused_parameters=True)
        inputs = torch.rand(1, 3, 64, 64, device='cuda') + rank
        output = ddp(inputs, None, mode='tensor')
        output.last.mask_logits.mean().backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        gathered = [torch.zeros_like(grad) for _ in range(world_size)]
        dist.all_gather(gathered, grad)
        queue.put((rank, all(torch.allclose(gathered[0], g) for g in gathered)))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='two-process NCCL needs 2 GPUs')
def test_two_process_nccl_gradients_agree(tiny_cfg):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        free_port = sock.getsockname()[1]
    context = mp.get_context('spawn')
    queue = context.Queue()
    processes = [context.Process(target=_nccl_worker, args=(rank, 2, free_port, tiny_cfg, queue))
                 for rank in range(2)]
    for process in processes:
        process.start()
    results = dict(queue.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert results == {0: True, 1: True}
