"""Side by side with Hugging Face transformers' Mask2Former: whole forward and end to end.

Used by ``tools/benchmark.py --compare-hf --hf-model``. transformers is not a dependency of this
package; this module imports it only when called.

Both models get random weights of the same shape class: ours is the config's ``OMGSegmentor``
(backbone, pixel decoder, mask decoder, post-processing); theirs is
``Mask2FormerForUniversalSegmentation`` with a ConvNeXt backbone of the same depths and widths
(ConvNeXt-L by default: 3/3/27/3 blocks, 192-1536 channels), the head's widths, layers, heads, FFN
sizes and queries, and the vocabulary's class count. The rows, all on one normalised random image
per size (batch 1), timed interleaved (every run calls each row once, in turn; median over the
runs):

* ``heads``: pixel decoder + mask decoder on the backbone maps (ours: ``OMGHead`` with
  ``inference=True``; theirs: ``pixel_level_module.decoder`` + ``transformer_module``);
* ``forward``: backbone + heads, no post-processing (ours: ``image_features`` + the head;
  theirs: the model's forward);
* ``end_to_end``: image in, segmentation out (ours: ``model.predict``: panoptic + instance +
  semantic as the config's ``test_cfg`` says; theirs: forward +
  ``post_process_panoptic_segmentation`` at the input size);
* ``train_step``: one training step on a batch of 2 images with 10 random thing masks each
  (forward, matching, losses on the sampled points, backward, AdamW), backbones frozen (ours:
  ``model.loss``; theirs: the model's forward with ``mask_labels`` / ``class_labels``). Ours is
  also split into backbone, heads + matching + losses, matching alone and backward + step
  (:func:`compare_training`).
"""
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

import torch

from seg.structures import SegDataSample

ROWS = ('heads', 'forward', 'end_to_end', 'train_step')


def build_hf_model(dims: Dict[str, int], num_labels: int,
                   depths: Sequence[int] = (3, 3, 27, 3),
                   channels: Sequence[int] = (192, 384, 768, 1536)):
    """transformers' Mask2Former with a ConvNeXt backbone and the head's dimensions
    (``dims`` as ``tools/benchmark.py``'s ``head_dimensions``)."""
    from transformers import ConvNextConfig, Mask2FormerConfig
    from transformers import Mask2FormerForUniversalSegmentation
    backbone = ConvNextConfig(depths=list(depths), hidden_sizes=list(channels),
                              out_features=['stage1', 'stage2', 'stage3', 'stage4'])
    # transformers' `decoder_layers` counts the query initialisation: N layers = N - 1 blocks.
    config = Mask2FormerConfig(
        backbone_config=backbone, num_labels=num_labels, feature_size=dims['hidden'],
        mask_feature_size=dims['mask'], hidden_dim=dims['hidden'],
        encoder_layers=dims['encoder_layers'], encoder_feedforward_dim=dims['encoder_ffn'],
        decoder_layers=dims['decoder_layers'] + 1, dim_feedforward=dims['decoder_ffn'],
        num_attention_heads=dims['decoder_heads'], num_queries=dims['queries'],
        enforce_input_projection=False, common_stride=4, feature_strides=[4, 8, 16, 32],
        pre_norm=False, dropout=0.0)
    return Mask2FormerForUniversalSegmentation(config).eval()


def _image(model, size: Tuple[int, int], device):
    height, width = size
    image = torch.randint(0, 256, (1, 3, height, width), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    sample = SegDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(dict(inputs=[image[0]], data_samples=[sample]), False)
    return data['inputs'].to(device), data['data_samples']


def interleaved(calls: Dict[str, Callable[[], object]], runs: int, warmup: int,
                synchronize: Callable[[], None] = lambda: None) -> Dict[str, dict]:
    """Median / min / max seconds of every call; each run calls all of them in turn."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    synchronize()
    times: Dict[str, List[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: dict(median_s=statistics.median(values), min_s=min(values), max_s=max(values),
                       runs_s=values)
            for name, values in times.items()}


def compare_models(model, hf_model, sizes: Sequence[Tuple[int, int]], rows: Sequence[str],
                   runs: int, warmup: int, device) -> List[Dict[str, object]]:
    """Ours vs transformers for every size: the ``rows`` of :data:`ROWS`, interleaved."""
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        raise ValueError(f'unknown rows {unknown}; choose from {list(ROWS)}')
    results = []
    inference_rows = [name for name in rows if name != 'train_step']
    for size in sizes:
        row = dict(size=list(size), timings={})
        if inference_rows:
            with torch.no_grad():
                row['timings'].update(_compare_inference(model, hf_model, size, inference_rows,
                                                         runs, warmup, device))
        if 'train_step' in rows:
            row['timings'].update(compare_training(model, hf_model, size, runs, warmup,
                                                   device))
        for name in rows:
            row[f'{name}_ratio'] = (row['timings'][f'ours_{name}']['median_s']
                                    / row['timings'][f'hf_{name}']['median_s'])
        results.append(row)
    return results


def _synchronizer(device) -> Callable[[], None]:
    if torch.device(device).type == 'cuda':
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _compare_inference(model, hf_model, size: Tuple[int, int], rows: Sequence[str], runs: int,
                       warmup: int, device) -> Dict[str, dict]:
    from transformers import Mask2FormerImageProcessor
    model.eval()
    hf_model.eval()
    processor = Mask2FormerImageProcessor()
    head = model.panoptic_head
    hf_inner = hf_model.model
    inputs, samples = _image(model, size, device)
    feats = model.extract_feat(inputs)
    hf_feats = hf_inner.pixel_level_module.encoder(inputs).feature_maps
    hf_pixel = hf_inner.pixel_level_module.decoder(hf_feats)
    target = [tuple(size)]

    def hf_end_to_end():
        outputs = hf_model(pixel_values=inputs)
        return processor.post_process_panoptic_segmentation(outputs, target_sizes=target)

    calls = {}
    if 'heads' in rows:
        calls.update(
            ours_heads=lambda: head(feats, pixel_features=head.pixel_decoder(list(feats)),
                                    inference=True),
            hf_heads=lambda: hf_inner.transformer_module(
                hf_inner.pixel_level_module.decoder(hf_feats).multi_scale_features,
                hf_pixel.mask_features))
    if 'forward' in rows:
        calls.update(
            ours_forward=lambda: _ours_forward(model, inputs),
            hf_forward=lambda: hf_model(pixel_values=inputs))
    if 'end_to_end' in rows:
        calls.update(
            ours_end_to_end=lambda: model.predict(inputs, [s.clone() for s in samples]),
            hf_end_to_end=hf_end_to_end)
    return interleaved(calls, runs, warmup, _synchronizer(device))


def _training_batch(model, size: Tuple[int, int], num_images: int, num_masks: int, device):
    """Random images with ``num_masks`` random rectangles of random thing classes each, as
    our training batch (after the data preprocessor) and as transformers' labels."""
    from mmengine.structures import InstanceData
    generator = torch.Generator().manual_seed(1)
    height, width = size
    num_things = model.panoptic_head.text_classifier.num_things
    images, samples, hf_masks, hf_labels = [], [], [], []
    for _ in range(num_images):
        corners = torch.rand(num_masks, 4, generator=generator)
        y1, y2 = (corners[:, :2].sort(1).values * height).long().unbind(1)
        x1, x2 = (corners[:, 2:].sort(1).values * width).long().unbind(1)
        rows, cols = torch.arange(height).view(1, -1, 1), torch.arange(width).view(1, 1, -1)
        masks = ((rows >= y1.view(-1, 1, 1)) & (rows <= y2.view(-1, 1, 1))
                 & (cols >= x1.view(-1, 1, 1)) & (cols <= x2.view(-1, 1, 1)))
        labels = torch.randint(0, num_things, (num_masks,), generator=generator)
        images.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8,
                                    generator=generator))
        samples.append(SegDataSample(
            metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                          scale_factor=(1.0, 1.0)),
            gt_instances=InstanceData(labels=labels, masks=masks)))
        hf_masks.append(masks.float().to(device))
        hf_labels.append(labels.to(device))
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    return data['inputs'].to(device), data['data_samples'], hf_masks, hf_labels


def compare_training(model, hf_model, size: Tuple[int, int], runs: int, warmup: int, device,
                     num_images: int = 2, num_masks: int = 10) -> Dict[str, dict]:
    """One training step each (AdamW, lr 1e-4, frozen backbones), interleaved, plus the split
    of ours: ``ours_backbone``, ``ours_forward_losses`` (backbone, heads, matching, losses),
    ``ours_matching`` (the Hungarian matching inside those, summed per step) and
    ``ours_backward_step`` (step minus forward, per run). Restores eval mode and frozen state."""
    inputs, samples, hf_masks, hf_labels = _training_batch(model, size, num_images, num_masks,
                                                           device)
    hf_backbone = list(hf_model.model.pixel_level_module.encoder.parameters())
    frozen = [parameter.requires_grad for parameter in hf_backbone]
    for parameter in hf_backbone:
        parameter.requires_grad_(False)
    model.train()
    hf_model.train()
    ours_optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                       lr=1e-4)
    hf_optimizer = torch.optim.AdamW([p for p in hf_model.parameters() if p.requires_grad],
                                     lr=1e-4)
    criterion = model.criterion
    matching_seconds = []
    plain_match = criterion.match

    def timed_match(*args, **kwargs):
        start = time.perf_counter()
        result = plain_match(*args, **kwargs)
        matching_seconds[-1] += time.perf_counter() - start
        return result

    def ours_forward_losses():
        matching_seconds.append(0.0)
        losses = model.loss(inputs, samples)
        return sum(value for name, value in losses.items() if 'loss' in name)

    def ours_step():
        ours_optimizer.zero_grad()
        ours_forward_losses().backward()
        ours_optimizer.step()

    def hf_step():
        hf_optimizer.zero_grad()
        hf_model(pixel_values=inputs, mask_labels=hf_masks, class_labels=hf_labels).loss.backward()
        hf_optimizer.step()

    def ours_backbone():
        with torch.no_grad():
            return model.extract_feat(inputs)

    criterion.match = timed_match
    try:
        with torch.enable_grad():
            timings = interleaved(dict(ours_train_step=ours_step, hf_train_step=hf_step,
                                       ours_backbone=ours_backbone,
                                       ours_forward_losses=ours_forward_losses),
                                  runs, warmup, _synchronizer(device))
    finally:
        criterion.match = plain_match
        model.eval()
        hf_model.eval()
        for parameter, was_trainable in zip(hf_backbone, frozen):
            parameter.requires_grad_(was_trainable)
    # Every step and every forward call matched once: the timed runs are the last 2 * runs.
    matching = matching_seconds[-2 * runs:]
    timings['ours_matching'] = dict(median_s=statistics.median(matching), min_s=min(matching),
                                    max_s=max(matching), runs_s=matching)
    step_runs = timings['ours_train_step']['runs_s']
    forward_runs = timings['ours_forward_losses']['runs_s']
    backward = [step - forward for step, forward in zip(step_runs, forward_runs)]
    timings['ours_backward_step'] = dict(median_s=statistics.median(backward),
                                         min_s=min(backward), max_s=max(backward),
                                         runs_s=backward)
    return timings


def _ours_forward(model, inputs):
    features = model.image_features(inputs)
    return model.panoptic_head(features.backbone, pixel_features=features.pixel, inference=True)


def format_rows(results: List[Dict[str, object]]) -> str:
    lines = [f'{"input":<10s} {"row":<11s} {"ours ms":>9s} {"HF ms":>9s} {"ours/HF":>8s}']
    for row in results:
        size = f'{row["size"][0]}x{row["size"][1]}'
        for name in ROWS:
            if f'{name}_ratio' not in row:
                continue
            ours = 1e3 * row['timings'][f'ours_{name}']['median_s']
            theirs = 1e3 * row['timings'][f'hf_{name}']['median_s']
            lines.append(f'{size:<10s} {name:<11s} {ours:9.0f} {theirs:9.0f} '
                         f'{row[f"{name}_ratio"]:8.2f}')
        if 'train_step_ratio' in row:
            split = ', '.join(
                f'{part} {1e3 * row["timings"][f"ours_{part}"]["median_s"]:.0f}'
                for part in ('backbone', 'forward_losses', 'matching', 'backward_step'))
            lines.append(f'{"":<10s} ours train step split (ms): {split}')
    return '\n'.join(lines)
