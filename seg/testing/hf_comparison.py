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
  ``post_process_panoptic_segmentation`` at the input size).
"""
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

import torch

from seg.structures import SegDataSample

ROWS = ('heads', 'forward', 'end_to_end')


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


@torch.no_grad()
def compare_models(model, hf_model, sizes: Sequence[Tuple[int, int]], rows: Sequence[str],
                   runs: int, warmup: int, device) -> List[Dict[str, object]]:
    """Ours vs transformers for every size: the ``rows`` of :data:`ROWS`, interleaved."""
    from transformers import Mask2FormerImageProcessor
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        raise ValueError(f'unknown rows {unknown}; choose from {list(ROWS)}')
    model.eval()
    hf_model.eval()
    processor = Mask2FormerImageProcessor()
    head = model.panoptic_head
    hf_inner = hf_model.model
    sync = ((lambda: torch.cuda.synchronize(device)) if torch.device(device).type == 'cuda'
            else (lambda: None))
    results = []
    for size in sizes:
        inputs, samples = _image(model, size, device)
        feats = model.extract_feat(inputs)
        pixel = head.pixel_decoder(list(feats))
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
                ours_end_to_end=lambda: model.predict(inputs,
                                                      [s.clone() for s in samples]),
                hf_end_to_end=hf_end_to_end)
        timings = interleaved(calls, runs, warmup, sync)
        row = dict(size=list(size), timings=timings)
        for name in rows:
            row[f'{name}_ratio'] = (timings[f'ours_{name}']['median_s']
                                    / timings[f'hf_{name}']['median_s'])
        results.append(row)
    return results


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
    return '\n'.join(lines)
