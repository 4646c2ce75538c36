"""Two gloo processes on CPU match one process: same gradients for the same total batch, same
evaluation results without duplicated or dropped samples (3 images on 2 ranks), and the same
skip decision when only one rank sees a NaN loss."""
import copy
import datetime
import importlib
import os
import pickle
import traceback
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config

from seg.models import build_segmentor
from seg.registry import TRANSFORMS

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'
WORLD_SIZE = 2
NUM_VAL_IMAGES = 3  # not divisible by the world size: the sampler pads rank 1


class PerRowRandom:
    """Stands in for ``torch`` in the point samplers: ``rand`` gives every row (mask / sample)
    the same fixed-seed points, so the points a mask gets do not depend on how the batch is
    split across processes (real sampling draws from one generator per process)."""

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def rand(*size, device=None, **kwargs):
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        row = torch.rand((1, *size[1:]), generator=torch.Generator().manual_seed(0))
        return row.expand(size).clone().to(device)


SAMPLING_MODULES = ('seg.models.heads.set_criterion', 'seg.models.matching.point_sample')


def deterministic_point_sampling(enable: bool = True) -> None:
    for name in SAMPLING_MODULES:
        importlib.import_module(name).torch = PerRowRandom() if enable else torch


def train_samples(data_root: Path) -> list:
    """4 training samples, all 64x64 (equal sizes: no batch-dependent padding)."""
    from seg.datasets import CocoPanopticDataset
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                dict(type='Resize', scale=(64, 64), keep_ratio=False), dict(type='PackSegInputs')]
    dataset = CocoPanopticDataset(
        data_root=str(data_root), ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=[TRANSFORMS.build(step) for step in pipeline], test_mode=True)
    return [dataset[index] for index in range(4)]


def batch_loss(model, samples: list, module=None) -> torch.Tensor:
    """Total training loss of ``samples`` (forward through ``module``, e.g. a DDP wrapper)."""
    batch = dict(inputs=[s['inputs'] for s in samples],
                 data_samples=[copy.deepcopy(s['data_samples']) for s in samples])
    data = model.data_preprocessor(batch, training=True)
    loss, _ = model.parse_losses((module or model)(**data, mode='loss'))
    return loss


def loss_gradients(model, samples: list, module=None) -> dict:
    model.zero_grad()
    batch_loss(model, samples, module).backward()
    return {name: param.grad.clone() for name, param in model.named_parameters()
            if param.grad is not None}


def eval_cfg(work_dir: Path, data_root: Path, model_cfg: dict, launcher: str) -> Config:
    from seg.engine.runner_setup import setup_config
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.model = model_cfg
    dump = str(work_dir / 'predictions.pkl')
    options = {'test_dataloader.dataset.data_root': f'{data_root}/',
               'test_dataloader.dataset.indices': NUM_VAL_IMAGES,
               'test_dataloader.batch_size': 1, 'test_dataloader.num_workers': 0,
               'test_evaluator': [dict(type='CocoPanopticMetric'), dict(type='SemSegMetric'),
                                  dict(type='DumpResults', out_file_path=dump)]}
    return setup_config(cfg, str(TOY_CONFIG), work_dir=str(work_dir), cfg_options=options,
                        launcher=launcher)


def _worker(rank, port, model_cfg, state_dict, samples, data_root, work_dir, queue):
    os.environ['LOCAL_RANK'] = str(rank)  # as torchrun sets it
    try:
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=120))
        queue.put((rank, _rank_results(rank, model_cfg, state_dict, samples, data_root,
                                       work_dir)))
    except BaseException:
        queue.put((rank, traceback.format_exc()))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _rank_results(rank, model_cfg, state_dict, samples, data_root, work_dir) -> tuple:
    torch.set_num_threads(1)
    deterministic_point_sampling()
    model = build_segmentor(model_cfg)
    model.load_state_dict(state_dict)
    ddp_model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    mine = samples[2 * rank:2 * rank + 2]
    grads = loss_gradients(model, mine, ddp_model)

    # NaN loss on rank 1 only: every rank must skip the step.
    from seg.engine import GuardedOptimWrapper
    wrapper = GuardedOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                                  on_non_finite='skip')
    loss = batch_loss(model, mine, ddp_model)
    before = [param.detach().clone() for param in model.parameters()]
    wrapper.update_params(loss * float('nan') if rank == 1 else loss)
    untouched = all(torch.equal(a, b) for a, b in zip(before, model.parameters()))

    from seg.engine.runner_setup import build_runner
    runner = build_runner(eval_cfg(Path(work_dir), Path(data_root), model_cfg, 'pytorch'))
    runner.model.module.load_state_dict(state_dict)
    metrics = runner.test()
    # numpy: torch tensors would travel as shared memory, gone once this process exits.
    return ({name: grad.numpy() for name, grad in grads.items()}, wrapper.skipped_steps,
            untouched, metrics)


def test_two_gloo_ranks_match_one_process(tmp_path, toy_data_root, tiny_cfg, free_port,
                                        collect_rank_results):
    torch.manual_seed(0)
    model = build_segmentor(tiny_cfg)  # also writes the text-embedding cache the workers read
    state_dict = {name: value.clone() for name, value in model.state_dict().items()}
    samples = train_samples(toy_data_root)

    context = mp.get_context('spawn')
    queue = context.Queue()
    dist_dir = tmp_path / 'dist'
    processes = [context.Process(target=_worker, args=(
        rank, free_port, tiny_cfg, state_dict, samples, str(toy_data_root), str(dist_dir), queue))
        for rank in range(WORLD_SIZE)]
    for process in processes:
        process.start()
    try:
        # Meanwhile, the single-process references.
        deterministic_point_sampling()
        try:
            single_grads = loss_gradients(model, samples)
        finally:
            deterministic_point_sampling(enable=False)
        from seg.engine.runner_setup import build_runner
        single_runner = build_runner(eval_cfg(tmp_path / 'single', toy_data_root, tiny_cfg,
                                              'none'))
        single_runner.model.load_state_dict(state_dict)
        single_metrics = single_runner.test()
        results = collect_rank_results(queue, processes)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()

    assert any(grad.abs().sum() > 0 for grad in single_grads.values())
    for rank in range(WORLD_SIZE):
        grads, skipped, untouched, metrics = results[rank]
        assert grads.keys() == single_grads.keys()
        for name, grad in single_grads.items():
            # Summation order differs (two halves averaged vs one batch): float32 noise only.
            torch.testing.assert_close(torch.from_numpy(grads[name]), grad, rtol=1e-3,
                                       atol=1e-4 * float(grad.abs().max()),
                                       msg=lambda text, name=name: f'{name}: {text}')
        assert skipped == 1 and untouched, f'rank {rank} did not skip the NaN step'
        assert metrics.keys() == single_metrics.keys()
        for key, value in single_metrics.items():
            assert metrics[key] == value, key

    assert single_metrics['sem_seg/mIoU'] > 0  # a comparison of real numbers

    def predictions(folder: Path) -> list:
        with open(folder / 'predictions.pkl', 'rb') as handle:
            return pickle.load(handle)

    single, gathered = predictions(tmp_path / 'single'), predictions(dist_dir)
    ids = [prediction['img_id'] for prediction in single]
    assert len(ids) == NUM_VAL_IMAGES == len(set(ids))
    assert [prediction['img_id'] for prediction in gathered] == ids
    for one, other in zip(single, gathered):
        assert torch.equal(one['pred_panoptic_seg']['sem_seg'],
                           other['pred_panoptic_seg']['sem_seg'])
