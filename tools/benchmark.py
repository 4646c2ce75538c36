"""Speed and memory of a config's model, data pipeline and PQ evaluator.

    python tools/benchmark.py CONFIG [--cfg-options k=v ...] [--device cpu|cuda] [--threads N]
        [--size H W] [--runs N] [--warmup N] [--batch N] [--amp none|bf16|fp16]
        [--what inference,train,data,eval]
        [--data-samples N] [--eval-images N] [--eval-segments N] [--out result.json]
Every option is described by --help.

inference: latency per image (batch 1, random RGB input of --size, median of --runs after
    --warmup) split into backbone / pixel decoder / mask decoder (incl. the upsampling to the
    input size) / post-processing (open-vocabulary logits + panoptic/instance/semantic fusion),
    plus the end-to-end `model.predict`.
train: iterations per second of forward + backward + optimizer step on one batch of --batch
    samples from the config's train dataset (the same batch every iteration) and peak memory
    (CUDA: torch.cuda.max_memory_allocated during the steps; CPU: the process's peak resident
    set from `resource`, which also counts everything loaded before, e.g. the model).
data: samples per second of the config's train dataset pipeline in this process (no workers).
eval: PQ evaluator images per second on generated predictions (seg.evaluation.benchmark).
Weights are the config's initialisation (no checkpoint). Only post-processing speed depends on
them (how many queries pass the score thresholds), so compare it between runs of one config.
"""
import argparse
import contextlib
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from seg.evaluation.benchmark import benchmark as pq_benchmark
from seg.registry import DATASETS, MODELS
from seg.structures import SegDataSample

STAGES = ('backbone', 'pixel_decoder', 'mask_decoder', 'postprocess', 'total')
WHAT = ('inference', 'train', 'data', 'eval')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: leave torch\'s choice)')
    parser.add_argument('--size', type=int, nargs=2, default=(512, 512), metavar=('H', 'W'))
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--batch', type=int, default=None,
                        help='training batch size (default: train_dataloader.batch_size)')
    parser.add_argument('--what', default='inference,train,data,eval')
    parser.add_argument('--amp', default='none', choices=('none', 'bf16', 'fp16'),
                        help='autocast dtype for inference and training (fp16: CUDA only)')
    parser.add_argument('--data-samples', type=int, default=64,
                        help='train samples to load (cycling through the dataset)')
    parser.add_argument('--eval-images', type=int, default=20)
    parser.add_argument('--eval-segments', type=int, default=50)
    parser.add_argument('--out', help='write the results to this JSON file')
    args = parser.parse_args(argv)
    args.what = [item.strip() for item in args.what.split(',') if item.strip()]
    unknown = sorted(set(args.what) - set(WHAT))
    if unknown:
        parser.error(f'--what: unknown {unknown}; choose from {list(WHAT)}')
    if args.runs < 1 or args.warmup < 0:
        parser.error('--runs must be >= 1 and --warmup >= 0')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')
    if args.amp == 'fp16' and args.device != 'cuda':
        parser.error('--amp fp16 needs --device cuda (use bf16 on CPU)')
    return args


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_call(function: Callable[[], object], runs: int, warmup: int,
              device: torch.device) -> Dict[str, float]:
    """Median / min / max seconds of ``function`` over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        function()
    _synchronize(device)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return dict(median_s=statistics.median(times), min_s=min(times), max_s=max(times))


def _inference_inputs(model, size, device):
    height, width = size
    image = torch.randint(0, 256, (1, 3, height, width), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(dict(inputs=[image[0]], data_samples=[sample]), False)
    return data['inputs'].to(device), data['data_samples']


@torch.no_grad()
def benchmark_inference(model, size, runs: int, warmup: int, device) -> Dict[str, dict]:
    """Per-stage latency of one image; each stage is timed on the previous stage's output."""
    model.eval()
    inputs, samples = _inference_inputs(model, size, device)
    head = model.panoptic_head
    batch_shape = samples[0].metainfo['batch_input_shape']
    feats = model.extract_feat(inputs)
    pixel_features = head.pixel_decoder(list(feats))
    outputs = head.predict(feats, batch_shape, pixel_features=pixel_features)

    def postprocess():
        mask_cls = model.open_vocab_logits(feats, outputs['mask_cls'], outputs['mask_pred'])
        return model.panoptic_fusion_head.predict(mask_cls, outputs['mask_pred'], samples,
                                                  rescale=True)

    calls = dict(
        backbone=lambda: model.extract_feat(inputs),
        pixel_decoder=lambda: head.pixel_decoder(list(feats)),
        mask_decoder=lambda: head.predict(feats, batch_shape, pixel_features=pixel_features),
        postprocess=postprocess,
        total=lambda: model.predict(inputs, [sample.clone() for sample in samples]))
    return {stage: time_call(calls[stage], runs, warmup, device) for stage in STAGES}


def _train_batch(cfg: Config, batch_size: int) -> dict:
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) == 0:
        raise ValueError('the train dataset is empty')
    return pseudo_collate([dataset[index % len(dataset)] for index in range(batch_size)])


def _peak_memory_bytes(device: torch.device) -> Dict[str, object]:
    if device.type == 'cuda':
        return dict(peak_memory_bytes=int(torch.cuda.max_memory_allocated(device)),
                    peak_memory_kind='torch.cuda.max_memory_allocated')
    # ru_maxrss is KiB on Linux: the whole process's peak resident set.
    return dict(peak_memory_bytes=int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024,
                peak_memory_kind='process peak RSS (ru_maxrss)')


def benchmark_train(model, cfg: Config, batch_size: int, runs: int, warmup: int,
                    device) -> Dict[str, object]:
    """Iterations per second of a full training step on one fixed batch."""
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = _train_batch(cfg, batch_size)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)

    def step():
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim_wrapper.update_params(loss)

    timing = time_call(step, runs, warmup, device)
    return dict(batch_size=batch_size, iters_per_s=1.0 / timing['median_s'], **timing,
                **_peak_memory_bytes(device))


def benchmark_data(cfg: Config, count: int) -> Dict[str, float]:
    """Samples per second of the train dataset pipeline (loading + transforms), one process."""
    if count < 1:
        raise ValueError(f'--data-samples must be >= 1, got {count}')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) == 0:
        raise ValueError('the train dataset is empty')
    start = time.perf_counter()
    for index in range(count):
        dataset[index % len(dataset)]
    elapsed = time.perf_counter() - start
    return dict(samples=count, samples_per_s=count / elapsed)


def format_table(results: dict) -> str:
    lines = []
    if 'inference' in results:
        lines.append(f'{"inference stage":<16s} {"median ms":>10s} {"min ms":>9s} {"max ms":>9s}')
        for stage, row in results['inference'].items():
            lines.append(f'{stage:<16s} {1e3 * row["median_s"]:10.2f} {1e3 * row["min_s"]:9.2f} '
                         f'{1e3 * row["max_s"]:9.2f}')
    if 'train' in results:
        row = results['train']
        lines.append(f'train: batch {row["batch_size"]}, {row["iters_per_s"]:.3f} it/s, peak '
                     f'memory {row["peak_memory_bytes"] / 2 ** 20:.0f} MiB '
                     f'({row["peak_memory_kind"]})')
    if 'data' in results:
        lines.append(f'data: {results["data"]["samples_per_s"]:.1f} samples/s '
                     f'({results["data"]["samples"]} samples, 1 process)')
    if 'eval' in results:
        row = results['eval']
        lines.append(f'eval PQ ({row["segments"]} segments/image): '
                     f'{row["in_memory_images_per_s"]:.1f} img/s in memory, '
                     f'{row["files_images_per_s"]:.1f} img/s from PNG files')
    return '\n'.join(lines)


def _model_benchmarks(model, cfg: Config, args: argparse.Namespace, device, results: dict):
    if 'inference' in args.what:
        results['inference'] = benchmark_inference(model, args.size, args.runs, args.warmup,
                                                   device)
    if 'train' in args.what:
        batch_size = args.batch or cfg.train_dataloader.batch_size
        results['train'] = benchmark_train(model, cfg, batch_size, args.runs, args.warmup, device)


def run(args: argparse.Namespace) -> dict:
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    init_default_scope('seg')
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    device = torch.device(args.device)
    results: Dict[str, object] = dict(
        config=str(args.config), device=args.device, threads=torch.get_num_threads(),
        size=list(args.size), amp=args.amp, runs=args.runs, warmup=args.warmup,
        torch=torch.__version__)
    if 'inference' in args.what or 'train' in args.what:
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).to(device)
        autocast = (contextlib.nullcontext() if args.amp == 'none' else torch.autocast(
            device.type, dtype=dict(bf16=torch.bfloat16, fp16=torch.float16)[args.amp]))
        with autocast:
            _model_benchmarks(model, cfg, args, device, results)
    if 'data' in args.what:
        results['data'] = benchmark_data(cfg, args.data_samples)
    if 'eval' in args.what:
        results['eval'] = pq_benchmark(args.eval_images, args.eval_segments)
    return results


def main(argv: List[str] = None) -> dict:
    args = parse_args(argv)
    results = run(args)
    print(f'{results["config"]} on {results["device"]}, {results["threads"]} threads, '
          f'input {results["size"][0]}x{results["size"][1]}, amp {results["amp"]}')
    print(format_table(results))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
        print(f'results written to {args.out}')
    return results


if __name__ == '__main__':
    main(sys.argv[1:])
