"""Speed and memory of a config's model, data pipeline and evaluators.

    python tools/benchmark.py CONFIG [--cfg-options k=v ...] [--device cpu|cuda] [--threads N]
        [--size H W] [--runs N] [--warmup N] [--batch N] [--amp none|bf16|fp16]
        [--what inference,train,data,eval,video,msda,prompts] [--frames N] [--prompts N]
        [--msda-impls reference points_major compiled]
        [--data-samples N] [--eval-images N] [--eval-segments N] [--pq-baseline]
        [--eval-videos N] [--eval-frames N] [--eval-video-segments N] [--eval-nproc N ...]
        [--compare-hf [--hf-sizes 512 1024 800x1216] [--hf-in-channels 192 384 768 1536]
         [--hf-model [--hf-rows heads forward end_to_end train_step]]]
        [--out result.json]
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
eval: PQ evaluator images per second on generated predictions (seg.testing.evaluation_benchmark);
    `--pq-baseline` adds a per-segment loop as panopticapi pq_compute_single_core on the same
    files (raises if its PQ differs); unless `--eval-videos 0`, also VPQ / STQ videos and
    frames per second from generated VIPSeg-format files (--eval-videos videos of
    --eval-frames frames), for every `--eval-nproc` value (results must be equal).
video: online (MinVIS) inference of one generated video of --frames frames of --size with the
    config's `video_cfg` (VOS off: no first-frame objects are given): frames/s end to end
    (normalisation, tube forwards, linking, per-frame post-processing), per stage summed over
    the tubes (backbone / pixel decoder / mask decoder) and of the three stages together
    (`model_frames_per_s`). Use a video config, e.g. configs/toy/omg_toy_video.py.
msda: the multi-scale deformable attention core alone, every implementation of
    --msda-impls (`impl=` of the pixel decoder's attention, seg.models.layers.ms_deform_attn)
    on the config's encoder shapes at --size (levels at strides 8, 16, 32, every position a
    query; the config's heads / points / widths, random inputs): median ms and the largest
    difference from `reference` (the per-level grid_sample layout of mmcv's kernel).
prompts: segmentation + --prompts random clicks of one image from cached features: one combined
    decoder pass (`predict_image_and_prompts`) vs two passes (`predict_image`, then
    `predict_prompts`), interleaved; medians and their ratio. Needs a model with a prompt encoder.
--compare-hf: instead of the sections above, time the config's pixel decoder + mask decoder
    (`model.panoptic_head`, random weights) against Hugging Face transformers' Mask2Former
    pixel decoder + transformer module built with the same widths, layers, heads, FFN sizes
    and queries, on the same random backbone maps (channels --hf-in-channels at strides 4-32)
    for each of --hf-sizes (N or HxW); forward only, no post-processing. Needs `transformers`
    installed (not a dependency of this package). For the paper's head:
    configs/_base_/models/omg_convl.py.
    With --hf-model: the whole models instead (seg.testing.hf_comparison), ours = the config's
    model (e.g. configs/omg_seg/omg_convl_coco_panoptic_eval.py with
    model.backbone.pretrained=None), theirs = Mask2FormerForUniversalSegmentation with a
    ConvNeXt backbone of --hf-in-channels widths (ConvNeXt-L depths) and the vocabulary's class
    count; rows (--hf-rows) `heads` (pixel + mask decoder), `forward` (backbone + heads),
    `end_to_end` (ours `model.predict`, theirs forward + post_process_panoptic_segmentation)
    and `train_step` (one AdamW step on 2 images with 10 random masks each, frozen backbones;
    ours also split into backbone / forward + losses / matching / backward + step), all calls
    of a size interleaved run by run, medians and ours / theirs ratios.
Weights are the config's initialisation (no checkpoint). Only post-processing speed depends on
them (how many queries pass the score thresholds), so compare it between runs of one config.
"""
import argparse
import contextlib
import dataclasses
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

from seg.models import build_segmentor
from seg.models.precision import prepare_bf16_inference
from seg.models.layers.ms_deform_attn import IMPLEMENTATIONS, sampling_function
from seg.models.video.inference import VideoInference, VideoInferenceConfig
from seg.registry import DATASETS, MODELS
from seg.structures import SegDataSample
from seg.testing import hf_comparison
from seg.testing.evaluation_benchmark import benchmark as pq_benchmark
from seg.testing.evaluation_benchmark import benchmark_video as video_eval_benchmark
from seg.testing.prompt_pass_benchmark import benchmark_prompt_pass

STAGES = ('backbone', 'pixel_decoder', 'mask_decoder', 'postprocess', 'total')
WHAT = ('inference', 'train', 'data', 'eval', 'video', 'msda', 'prompts')
CONVNEXT_L_CHANNELS = (192, 384, 768, 1536)
HF_MISSING = ('--compare-hf needs Hugging Face transformers, which is not installed (it is not a '
              'dependency of this package): pip install transformers')


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
    parser.add_argument('--what', default='inference,train,data,eval',
                        help=f'comma-separated sections of {list(WHAT)}')
    parser.add_argument('--frames', type=int, default=8, help='video length for `video`')
    parser.add_argument('--prompts', type=int, default=10, help='clicks for `prompts`')
    parser.add_argument('--msda-impls', nargs='+', default=['reference', 'points_major'],
                        choices=IMPLEMENTATIONS, help='implementations timed by `msda`')
    parser.add_argument('--amp', default='none', choices=('none', 'bf16', 'fp16'),
                        help='autocast dtype for inference and training (fp16: CUDA only); bf16 '
                             'inference also casts the backbone weights to bf16 '
                             '(seg.models.precision.prepare_bf16_inference)')
    parser.add_argument('--data-samples', type=int, default=64,
                        help='train samples to load (cycling through the dataset)')
    parser.add_argument('--eval-images', type=int, default=20)
    parser.add_argument('--eval-segments', type=int, default=50)
    parser.add_argument('--pq-baseline', action='store_true',
                        help='also time the per-segment loop PQ baseline (panopticapi rules)')
    parser.add_argument('--eval-videos', type=int, default=8,
                        help='generated videos for the VPQ / STQ rows (0: skip them)')
    parser.add_argument('--eval-frames', type=int, default=8)
    parser.add_argument('--eval-video-segments', type=int, default=50)
    parser.add_argument('--eval-video-size', type=int, nargs=2, default=(480, 640),
                        metavar=('H', 'W'))
    parser.add_argument('--eval-nproc', type=int, nargs='+', default=[1, 2],
                        help='process counts for the VPQ / STQ rows')
    parser.add_argument('--compare-hf', action='store_true',
                        help='only compare the head with transformers\' Mask2Former')
    parser.add_argument('--hf-sizes', type=_hf_size, nargs='+',
                        default=[(512, 512), (1024, 1024)],
                        help='input sizes of the --compare-hf rows: N (square) or HxW')
    parser.add_argument('--hf-model', action='store_true',
                        help='--compare-hf on the whole models (forward, end to end)')
    parser.add_argument('--hf-rows', nargs='+', default=['heads', 'forward', 'end_to_end'],
                        choices=hf_comparison.ROWS,
                        help='rows of --compare-hf --hf-model')
    parser.add_argument('--hf-in-channels', type=int, nargs=4, default=list(CONVNEXT_L_CHANNELS),
                        help='backbone channels at strides 4, 8, 16, 32 (default ConvNeXt-L)')
    parser.add_argument('--out', help='write the results to this JSON file')
    args = parser.parse_args(argv)
    args.what = [item.strip() for item in args.what.split(',') if item.strip()]
    unknown = sorted(set(args.what) - set(WHAT))
    if unknown:
        parser.error(f'--what: unknown {unknown}; choose from {list(WHAT)}')
    if args.runs < 1 or args.warmup < 0:
        parser.error('--runs must be >= 1 and --warmup >= 0')
    if args.frames < 1 or min(args.eval_nproc) < 1 or args.eval_videos < 0:
        parser.error('--frames and --eval-nproc must be >= 1 and --eval-videos >= 0')
    if args.compare_hf:
        try:
            import_hf_mask2former()
        except ImportError:
            parser.error(HF_MISSING)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')
    if args.amp == 'fp16' and args.device != 'cuda':
        parser.error('--amp fp16 needs --device cuda (use bf16 on CPU)')
    return args


def _hf_size(text: str):
    """'512' -> (512, 512); '800x1216' -> (800, 1216)."""
    try:
        parts = [int(part) for part in text.lower().split('x')]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 32:
        raise argparse.ArgumentTypeError(f'expected N or HxW (>= 32), got {text!r}')
    return (parts[0], parts[-1])


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
    features = model.image_features(inputs)

    def mask_decoder():
        """The decoder's last prediction, stride-4 masks (what post-processing takes)."""
        return head(feats, pixel_features=features.pixel, inference=True).last

    decoded = mask_decoder()

    def postprocess():
        """Open-vocabulary fusion (when configured) and the panoptic / instance / semantic
        rules, mask resizing included."""
        class_logits = model.fuse_open_vocab(feats[-1], decoded.class_logits, decoded,
                                             batch_shape)
        return model.postprocessor.predict(class_logits, decoded.mask_logits, samples,
                                           head.text_classifier.num_things, rescale=True)

    calls = dict(
        backbone=lambda: model.extract_feat(inputs),
        pixel_decoder=lambda: head.pixel_decoder(list(feats)),
        mask_decoder=mask_decoder,
        postprocess=postprocess,
        total=lambda: model.predict(inputs, [sample.clone() for sample in samples]))
    return {stage: time_call(calls[stage], runs, warmup, device) for stage in STAGES}


@torch.no_grad()
def benchmark_video(model, size, num_frames: int, runs: int, warmup: int,
                    device) -> Dict[str, object]:
    """Frames per second of online video inference on one random uint8 video: end to end
    (`total`) and per stage summed over the tubes (backbone / pixel decoder / mask decoder,
    each on the previous stage's output); `rest_s` = total - the three stages (normalisation,
    linking, upsampling and per-frame post-processing)."""
    model.eval()
    height, width = size
    frames = torch.randint(0, 256, (num_frames, 3, height, width), dtype=torch.uint8)
    video_cfg = dataclasses.replace(getattr(model, 'video_cfg', None) or VideoInferenceConfig(),
                                    vos_on=False)
    inference = VideoInference(model.extract_feat, model.panoptic_head, model.postprocessor,
                               video_cfg)
    tubes = video_cfg.tubes(num_frames)

    def normalised():
        samples = [SegDataSample(metainfo=dict(img_shape=(height, width),
                                               ori_shape=(height, width), scale_factor=(1., 1.)))
                   for _ in range(num_frames)]
        data = model.data_preprocessor(dict(inputs=list(frames), data_samples=samples), False)
        return data['inputs'].to(device), data['data_samples']

    def end_to_end():
        inputs, samples = normalised()
        inference.run(inputs, samples, lambda t, outputs: None)

    inputs, _ = normalised()
    head = model.panoptic_head
    clips = [(inputs[start:stop], stop - start) for start, stop in tubes]
    feats = [model.extract_feat(clip) for clip, _ in clips]
    pixel_features = [head.pixel_decoder(list(tube_feats)) for tube_feats in feats]
    calls = dict(
        backbone=lambda: [model.extract_feat(clip) for clip, _ in clips],
        pixel_decoder=lambda: [head.pixel_decoder(list(tube_feats)) for tube_feats in feats],
        mask_decoder=lambda: [head(tube_feats, num_frames=length, pixel_features=pixel)
                              for tube_feats, (_, length), pixel
                              in zip(feats, clips, pixel_features)],
        total=end_to_end)
    stages = {name: time_call(call, runs, warmup, device) for name, call in calls.items()}
    model_s = sum(stages[name]['median_s'] for name in STAGES[:3])
    return dict(frames=num_frames, tubes=[list(tube) for tube in tubes], stages=stages,
                frames_per_s=num_frames / stages['total']['median_s'],
                model_frames_per_s=num_frames / model_s,
                rest_s=stages['total']['median_s'] - model_s)


def import_hf_mask2former():
    """transformers' Mask2Former config, pixel decoder and transformer module classes."""
    from transformers import Mask2FormerConfig
    from transformers.models.mask2former.modeling_mask2former import (
        Mask2FormerPixelDecoder, Mask2FormerTransformerModule)
    return Mask2FormerConfig, Mask2FormerPixelDecoder, Mask2FormerTransformerModule


def head_dimensions(head_cfg: dict) -> Dict[str, int]:
    """Widths, layers, heads, FFN sizes and queries of an OMGHead config."""
    encoder = head_cfg['pixel_decoder']['encoder']
    decoder = head_cfg['transformer_decoder']
    dims = dict(hidden=head_cfg['feat_channels'], mask=head_cfg['out_channels'],
                queries=head_cfg['num_queries'], encoder_layers=encoder['num_layers'],
                encoder_ffn=encoder['layer_cfg']['ffn_cfg']['feedforward_channels'],
                encoder_heads=encoder['layer_cfg']['self_attn_cfg']['num_heads'],
                encoder_points=encoder['layer_cfg']['self_attn_cfg'].get('num_points', 4),
                decoder_layers=decoder['num_layers'],
                decoder_ffn=decoder['layer_cfg']['ffn_cfg']['feedforward_channels'],
                decoder_heads=decoder['layer_cfg']['cross_attn_cfg']['num_heads'])
    if dims['encoder_heads'] != dims['decoder_heads'] or dims['encoder_points'] != 4:
        raise ValueError(f'transformers\' Mask2Former has one head count for encoder and '
                         f'decoder and 4 sampling points; the config has {dims}')
    return dims


@torch.no_grad()
def compare_hf(cfg: Config, sizes: List[int], in_channels: List[int], runs: int, warmup: int,
               device) -> List[Dict[str, object]]:
    """Pixel decoder + mask decoder latency: this head vs transformers' Mask2Former."""
    config_cls, pixel_decoder_cls, transformer_module_cls = import_hf_mask2former()
    head_cfg = dict(cfg.model.panoptic_head)
    dims = head_dimensions(head_cfg)
    torch.manual_seed(0)
    head = MODELS.build(dict(head_cfg, in_channels=list(in_channels),
                             strides=[4, 8, 16, 32])).to(device).eval()
    # COCO's class space (80 things + 53 stuff), random prototypes.
    head.text_classifier.set_embeddings(torch.nn.functional.normalize(
        torch.randn(133, 1, head.text_classifier.embed_dim), dim=-1), num_things=80)
    # transformers' `decoder_layers` counts the query initialisation: N layers = N - 1 blocks.
    hf_cfg = config_cls(
        feature_size=dims['hidden'], mask_feature_size=dims['mask'], hidden_dim=dims['hidden'],
        encoder_layers=dims['encoder_layers'], encoder_feedforward_dim=dims['encoder_ffn'],
        decoder_layers=dims['decoder_layers'] + 1, dim_feedforward=dims['decoder_ffn'],
        num_attention_heads=dims['decoder_heads'], num_queries=dims['queries'],
        enforce_input_projection=False, common_stride=4, feature_strides=[4, 8, 16, 32],
        pre_norm=False, dropout=0.0)
    hf_pixel = pixel_decoder_cls(hf_cfg, feature_channels=list(in_channels)).to(device).eval()
    hf_decoder = transformer_module_cls(in_features=dims['hidden'], config=hf_cfg)
    hf_decoder = hf_decoder.to(device).eval()
    if len(hf_decoder.decoder.layers) != len(head.transformer_decoder.layers):
        raise RuntimeError(f'transformers built {len(hf_decoder.decoder.layers)} decoder layers '
                           f'for {len(head.transformer_decoder.layers)} of this head')
    rows = []
    for size in sizes:
        height, width = size
        feats = [torch.randn(1, channels, height // stride, width // stride, device=device)
                 for channels, stride in zip(in_channels, (4, 8, 16, 32))]
        pixel_features = head.pixel_decoder(list(feats))
        hf_pixel_out = hf_pixel(list(feats))
        timings = dict(
            seg_pixel_decoder=lambda: head.pixel_decoder(list(feats)),
            seg_mask_decoder=lambda: head(feats, pixel_features=pixel_features, inference=True),
            hf_pixel_decoder=lambda: hf_pixel(list(feats)),
            hf_mask_decoder=lambda: hf_decoder(list(hf_pixel_out.multi_scale_features),
                                               hf_pixel_out.mask_features))
        row = dict(size=list(size), **{name: time_call(call, runs, warmup, device)
                                 for name, call in timings.items()})
        for side in ('seg', 'hf'):
            row[f'{side}_sum_ms'] = 1e3 * (row[f'{side}_pixel_decoder']['median_s']
                                           + row[f'{side}_mask_decoder']['median_s'])
        rows.append(row)
    return [dict(dims, in_channels=list(in_channels), **row) for row in rows]


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


def benchmark_msda(cfg: Config, size, impls: List[str], runs: int, warmup: int,
                   device: torch.device) -> Dict[str, dict]:
    """Median time of each deformable-attention implementation at the encoder's shapes."""
    attention = cfg.model.panoptic_head.pixel_decoder.encoder.layer_cfg.self_attn_cfg
    heads, points = attention.num_heads, attention.get('num_points', 4)
    shapes = [(size[0] // stride, size[1] // stride)
              for stride in (8, 16, 32)[:attention.get('num_levels', 3)]]
    queries = sum(h * w for h, w in shapes)
    generator = torch.Generator().manual_seed(0)
    width = attention.get('embed_dims', cfg.model.panoptic_head.feat_channels)
    value = torch.randn(1, queries, heads, width // heads, generator=generator)
    locations = torch.rand(1, queries, heads, len(shapes), points, 2, generator=generator)
    weights = torch.rand(1, queries, heads, len(shapes), points, generator=generator)
    inputs = [tensor.to(device) for tensor in (value, torch.tensor(shapes), locations,
                                               weights.flatten(-2).softmax(-1).view_as(weights))]
    expected = sampling_function('reference')(*inputs)
    results = {}
    for impl in impls:
        function = sampling_function(impl)
        timing = time_call(lambda: function(*inputs), runs, warmup, device)
        timing['max_abs_diff'] = float((function(*inputs) - expected).abs().max())
        results[impl] = timing
    return dict(levels=shapes, queries=queries, heads=heads, points=points,
                implementations=results)


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
    if 'inference_summary' in results:
        row = results['inference_summary']
        lines.append(f'inference: {row["images_per_s"]:.2f} images/s (total), peak memory '
                     f'{row["peak_memory_bytes"] / 2 ** 20:.0f} MiB ({row["peak_memory_kind"]})')
    if 'train' in results:
        row = results['train']
        lines.append(f'train: batch {row["batch_size"]}, {row["iters_per_s"]:.3f} it/s, peak '
                     f'memory {row["peak_memory_bytes"] / 2 ** 20:.0f} MiB '
                     f'({row["peak_memory_kind"]})')
    if 'data' in results:
        lines.append(f'data: {results["data"]["samples_per_s"]:.1f} samples/s '
                     f'({results["data"]["samples"]} samples, 1 process)')
    if 'video' in results:
        row = results['video']
        lines.append(f'{"video stage":<16s} {"median ms":>10s} {"min ms":>9s} {"max ms":>9s}'
                     f'  ({row["frames"]} frames, tubes {row["tubes"]})')
        for stage, timing in row['stages'].items():
            lines.append(f'{stage:<16s} {1e3 * timing["median_s"]:10.2f} '
                         f'{1e3 * timing["min_s"]:9.2f} {1e3 * timing["max_s"]:9.2f}')
        lines.append(f'video: {row["frames_per_s"]:.2f} frames/s end to end, '
                     f'{row["model_frames_per_s"]:.2f} frames/s backbone + pixel decoder + '
                     f'mask decoder')
    if 'prompts' in results:
        row = results['prompts']
        lines.append(f'segmentation + {row["num_prompts"]} clicks: one pass '
                     f'{1e3 * row["one_pass_s"]:.1f} ms, two passes '
                     f'{1e3 * row["two_passes_s"]:.1f} ms, ratio {row["one_pass_over_two"]:.2f}')
    if 'msda' in results:
        row = results['msda']
        lines.append(f'deformable attention core, levels {row["levels"]}, {row["queries"]} '
                     f'queries, {row["heads"]} heads x {row["points"]} points:')
        for impl, timing in row['implementations'].items():
            lines.append(f'  {impl:<14s} {1e3 * timing["median_s"]:9.2f} ms   max |diff| vs '
                         f'reference {timing["max_abs_diff"]:.2e}')
    if 'eval' in results:
        row = results['eval']
        line = (f'eval PQ ({row["segments"]} segments/image): '
                f'{row["in_memory_images_per_s"]:.1f} img/s in memory, '
                f'{row["files_images_per_s"]:.1f} img/s from PNG files')
        if 'baseline_loop_images_per_s' in row:
            line += (f', per-segment loop as panopticapi pq_compute_single_core '
                     f'{row["baseline_loop_images_per_s"]:.1f} img/s (same PQ)')
        lines.append(line + ', 1 process')
    for row in results.get('eval_video', []):
        lines.append(f'eval {row["metric"]} ({row["videos"]} videos x {row["frames"]} frames, '
                     f'{row["segments"]} segments): {row["videos_per_s"]:.2f} videos/s, '
                     f'{row["frames_per_s"]:.1f} frames/s, {row["nproc"]} process(es)')
    if 'compare_hf' in results:
        lines.append(f'{"pixel + mask decoder":<22s} {"seg pixel":>10s} {"seg mask":>9s} '
                     f'{"seg sum":>8s} {"HF pixel":>9s} {"HF mask":>8s} {"HF sum":>8s}  (ms)')
        for row in results['compare_hf']:
            cells = [1e3 * row[name]['median_s'] for name in ('seg_pixel_decoder',
                                                              'seg_mask_decoder')]
            cells.append(row['seg_sum_ms'])
            cells += [1e3 * row[name]['median_s'] for name in ('hf_pixel_decoder',
                                                               'hf_mask_decoder')]
            cells.append(row['hf_sum_ms'])
            size = f'{row["size"][0]}x{row["size"][1]}'
            lines.append(f'{size:<22s} ' + ' '.join(
                f'{cell:>9.1f}' for cell in cells))
    return '\n'.join(lines)


def _model_benchmarks(model, cfg: Config, args: argparse.Namespace, device, results: dict):
    if 'train' in args.what:  # before any bf16 cast of the backbone (inference only)
        batch_size = args.batch or cfg.train_dataloader.batch_size
        results['train'] = benchmark_train(model, cfg, batch_size, args.runs, args.warmup, device)
    if args.amp == 'bf16' and {'inference', 'video'} & set(args.what):
        prepare_bf16_inference(model)  # the bf16 inference recipe: backbone weights in bf16
    if 'inference' in args.what:
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(device)
        results['inference'] = benchmark_inference(model, args.size, args.runs, args.warmup,
                                                   device)
        results['inference_summary'] = dict(
            images_per_s=1.0 / results['inference']['total']['median_s'],
            **_peak_memory_bytes(device))
    if 'video' in args.what:
        results['video'] = benchmark_video(model, args.size, args.frames, args.runs, args.warmup,
                                           device)
    if 'prompts' in args.what:
        results['prompts'] = benchmark_prompt_pass(model, args.size, args.prompts, args.runs,
                                                   args.warmup, device,
                                                   lambda: _synchronize(device))


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
    autocast = (contextlib.nullcontext() if args.amp == 'none' else torch.autocast(
        device.type, dtype=dict(bf16=torch.bfloat16, fp16=torch.float16)[args.amp]))
    if args.compare_hf and args.hf_model:
        torch.manual_seed(0)
        model = build_segmentor(cfg.model).to(device)
        hf_model = hf_comparison.build_hf_model(
            head_dimensions(dict(cfg.model.panoptic_head)),
            model.panoptic_head.text_classifier.num_classes,
            channels=args.hf_in_channels).to(device)
        with autocast:
            results['compare_hf_model'] = hf_comparison.compare_models(
                model, hf_model, args.hf_sizes, args.hf_rows, args.runs, args.warmup, device)
        return results
    if args.compare_hf:
        with autocast:
            results['compare_hf'] = compare_hf(cfg, args.hf_sizes, args.hf_in_channels,
                                               args.runs, args.warmup, device)
        return results
    if {'inference', 'train', 'video', 'prompts'} & set(args.what):
        torch.manual_seed(0)
        model = build_segmentor(cfg.model).to(device)
        with autocast:
            _model_benchmarks(model, cfg, args, device, results)
    if 'data' in args.what:
        results['data'] = benchmark_data(cfg, args.data_samples)
    if 'msda' in args.what:
        results['msda'] = benchmark_msda(cfg, args.size, args.msda_impls, args.runs,
                                         args.warmup, device)
    if 'eval' in args.what:
        results['eval'] = pq_benchmark(args.eval_images, args.eval_segments,
                                       pq_baseline=args.pq_baseline)
        if args.eval_videos:
            results['eval_video'] = video_eval_benchmark(
                args.eval_videos, args.eval_frames, args.eval_video_segments, args.eval_nproc,
                tuple(args.eval_video_size))
    return results


def main(argv: List[str] = None) -> dict:
    args = parse_args(argv)
    results = run(args)
    inputs = ('inputs of ' if args.hf_model else 'backbone maps of ') + ', '.join(
        f'{height}x{width}' for height, width in args.hf_sizes)
    if not args.compare_hf:
        inputs = f'input {results["size"][0]}x{results["size"][1]}'
    print(f'{results["config"]} on {results["device"]}, {results["threads"]} threads, '
          f'{inputs}, amp {results["amp"]}')
    print(format_table(results))
    if 'compare_hf_model' in results:
        print(hf_comparison.format_rows(results['compare_hf_model']))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2))
        print(f'results written to {args.out}')
    return results


if __name__ == '__main__':
    main(sys.argv[1:])
