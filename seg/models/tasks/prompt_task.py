"""Location-prompt (point / box) batches: one query per prompt, one mask per query.

A batch is a prompt batch when its samples carry ``prompts`` (``InstanceData`` with ``boxes``
(N, 4) pixel boxes of the network input and ``is_point`` (N,); multi-point prompts add
``points`` (N, P, 2) and ``point_labels`` (N, P), see ``PromptEncoder``); see
:func:`batch_kind`. Each prompt yields one prediction (its first token's).

* Training: prompt i is supervised by ``gt_instances.masks[i]`` (BCE + Dice, no matching, no
  class loss).
* Prediction: ``pred_prompts`` = ``InstanceData`` with, per prompt, ``masks`` (bool, original
  image size with ``rescale``), ``labels`` (best class of the current vocabulary, background
  excluded) and ``scores`` (its probability in the softmax over the K classes + no-object,
  after the open-vocabulary fusion when enabled).

The multi-click evaluation protocol is not here: it lives with the metrics (the evaluation
package's ``click_protocol`` module) and calls the model's ``predict_prompts``.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from seg.models.heads import DecoderOutput
from seg.models.postprocess.mask_ops import restore_mask_logits
from seg.utils.config_keys import frozen_dataclass_from_cfg
from .decoder_task import ClassLogitFusion, DecoderTask
from .features import ImageFeatures


@dataclass(frozen=True)
class PromptTestConfig:
    """The model's ``interactive_test_cfg``. ``with_panoptic``: prompt batches also run the
    semantic queries (in the same decoder pass), so one test pass gives panoptic results and
    prompt masks."""
    with_panoptic: bool = False

    @classmethod
    def build(cls, cfg: Union['PromptTestConfig', Mapping, None]) -> 'PromptTestConfig':
        if isinstance(cfg, cls):
            return cfg
        cfg = dict(cfg or {})
        moved = sorted(set(cfg) & {'max_clicks', 'stop_iou'})
        if moved:
            raise KeyError(f'interactive_test_cfg.{moved[0]} moved to the click protocol of '
                           'the evaluation: set it on InteractiveMetric (e.g. '
                           'dict(type=InteractiveMetric, max_clicks=20, stop_iou=0.9))')
        return frozen_dataclass_from_cfg(cls, cfg, 'interactive_test_cfg')


def stack_sample_prompts(data_samples: Sequence, pad: bool = False
                         ) -> Tuple[Tensor, Tensor, List[Tuple[int, int]], List[int]]:
    """Boxes (B, N, 4), is_point (B, N), img_shapes and prompt counts of a prompt batch.

    Every sample must carry ``prompts`` (``InstanceData`` with ``boxes`` and ``is_point``), at
    least one. The decoder stacks them, so the counts must be equal unless ``pad``: then
    shorter samples repeat their last prompt up to the largest count (prompts are decoded
    independently, so padding changes no other prompt's output; drop the padded rows).
    """
    boxes, is_point, img_shapes = [], [], []
    for index, sample in enumerate(data_samples):
        if 'prompts' not in sample:
            raise KeyError(f'sample {index} ({sample.metainfo.get("img_path")}) has no prompts')
        prompts = sample.prompts
        for key in ('boxes', 'is_point'):
            if key not in prompts:
                raise KeyError(f'sample {index}: prompts lack {key!r} (have {prompts.keys()})')
        if prompts.boxes.dim() != 2 or prompts.boxes.shape[-1] != 4 or len(prompts) == 0:
            raise ValueError(f'sample {index}: prompts.boxes must be (N >= 1, 4), got '
                             f'{tuple(prompts.boxes.shape)}')
        if 'img_shape' not in sample.metainfo:
            raise KeyError(f'sample {index}: metainfo lacks img_shape (prompts are '
                           'normalised by it)')
        boxes.append(prompts.boxes.float())
        is_point.append(prompts.is_point.bool())
        img_shapes.append(tuple(int(v) for v in sample.metainfo['img_shape'][:2]))
    counts = [len(b) for b in boxes]
    if len(set(counts)) != 1:
        if not pad:
            raise ValueError(f'every sample of a prompt batch needs the same number of '
                             f'prompts, got {counts}')
        longest = max(counts)
        boxes = [torch.cat([b, b[-1:].expand(longest - len(b), -1)]) for b in boxes]
        is_point = [torch.cat([f, f[-1:].expand(longest - len(f))]) for f in is_point]
    return torch.stack(boxes), torch.stack(is_point), img_shapes, counts


def stack_prompt_inputs(data_samples: Sequence, pad: bool = False) -> Tuple[Dict, List[int]]:
    """Keyword arguments of :meth:`PromptEncoder.forward` (but ``mask_features``) for a prompt
    batch, and the prompt count per sample.

    Besides :func:`stack_sample_prompts`' boxes, is_point and img_shapes: ``pad_shapes`` (each
    sample's ``batch_input_shape``, the padded frame; ``img_shape`` when absent) and, when a
    sample's prompts carry extra clicks (``points`` (N, P, 2), ``point_labels`` (N, P)),
    ``points`` / ``point_labels`` stacked to the largest P (label -1 = no click).
    """
    boxes, is_point, img_shapes, counts = stack_sample_prompts(data_samples, pad=pad)
    pad_shapes = [tuple(int(v) for v in sample.metainfo.get(
        'batch_input_shape', sample.metainfo['img_shape'])[:2]) for sample in data_samples]
    kwargs = dict(boxes=boxes, is_point=is_point, img_shapes=img_shapes, pad_shapes=pad_shapes)
    extra = [sample.prompts.points if 'points' in sample.prompts else None
             for sample in data_samples]
    if any(points is not None and points.shape[1] > 0 for points in extra):
        longest = max(points.shape[1] for points in extra if points is not None)
        num_prompts = boxes.shape[1]
        all_points = boxes.new_zeros(len(data_samples), num_prompts, longest, 2)
        all_labels = torch.full((len(data_samples), num_prompts, longest), -1,
                                dtype=torch.long, device=boxes.device)
        for index, (sample, points) in enumerate(zip(data_samples, extra)):
            if points is None:
                continue
            if 'point_labels' not in sample.prompts:
                raise KeyError(f'sample {index}: prompts.points need prompts.point_labels')
            labels = sample.prompts.point_labels
            if points.dim() != 3 or points.shape[-1] != 2 or labels.shape != points.shape[:2]:
                raise ValueError(f'sample {index}: prompts.points must be (N, P, 2) and '
                                 f'point_labels (N, P), got {tuple(points.shape)} and '
                                 f'{tuple(labels.shape)}')
            count, width = points.shape[:2]
            all_points[index, :count, :width] = points.to(all_points)
            all_labels[index, :count, :width] = labels.to(all_labels)
            if count < num_prompts:  # padded prompts repeat the last one (see above)
                all_points[index, count:] = all_points[index, count - 1]
                all_labels[index, count:] = all_labels[index, count - 1]
        kwargs.update(points=all_points, point_labels=all_labels)
    return kwargs, counts


def first_tokens(output: DecoderOutput, tokens_per_prompt: int) -> DecoderOutput:
    """The predictions of each prompt's first token (multi-point prompts: see
    ``PromptEncoder``); unchanged with one token per prompt."""
    if tokens_per_prompt == 1:
        return output
    return output.queries(slice(None, None, tokens_per_prompt))


def label_prompt_masks(class_logits: Tensor) -> Tuple[Tensor, Tensor]:
    """(N, K+1) logits -> best real class and its probability (softmax over K+1)."""
    probs = class_logits.float().softmax(-1)
    scores, labels = probs[:, :-1].max(-1)
    return labels, scores


class PromptTask(DecoderTask):
    """Loss and prediction of prompt batches.

    Args:
        encode, decoder, criterion, open_vocab: see :class:`DecoderTask` (the criterion is used
            in paired mode).
        prompt_encoder: ``PromptEncoder`` (prompts -> queries).
    """

    def __init__(self, encode: Callable[[Tensor], ImageFeatures], decoder, prompt_encoder,
                 criterion, open_vocab: Optional[ClassLogitFusion] = None) -> None:
        super().__init__(encode, decoder, criterion, open_vocab)
        self.prompt_encoder = prompt_encoder

    def queries(self, data_samples: Sequence, pad: bool = False
                ) -> Tuple[Dict[str, Tensor], List[int]]:
        """The decoder's ``queries`` for the prompts of a batch and the prompt count per
        sample (``pad``: see :func:`stack_sample_prompts`)."""
        return self.queries_for(data_samples, pad=pad)

    def queries_for(self, data_samples: Sequence, features: Optional[ImageFeatures] = None,
                    pad: bool = False) -> Tuple[Dict[str, Tensor], List[int]]:
        kwargs, counts = stack_prompt_inputs(data_samples, pad=pad)
        if getattr(self.prompt_encoder, 'needs_mask_features', False):
            if features is None:
                raise ValueError('this prompt encoder seeds its queries from the mask '
                                 'features: pass the image features')
            kwargs['mask_features'] = features.mask_features
        return self.prompt_encoder(**kwargs), counts

    def decode(self, features: ImageFeatures, data_samples: Sequence, pad: bool = False,
               inference: bool = False) -> Tuple[DecoderOutput, List[int]]:
        """Decoder output of each prompt (its first token's, for multi-point prompts);
        ``inference``: the last stage only (see ``OMGHead.forward``)."""
        queries, counts = self.queries_for(data_samples, features, pad=pad)
        output = self.decoder(features.backbone, queries=queries,
                              pixel_features=features.pixel, inference=inference)
        return first_tokens(output, int(queries.get('tokens_per_prompt', 1))), counts

    def tensor(self, inputs: Tensor, data_samples: Sequence) -> DecoderOutput:
        return self.decode(self.encode(inputs), data_samples)[0]

    def loss(self, inputs: Tensor, data_samples: Sequence) -> Dict[str, Tensor]:
        """Prompt i against ``gt_instances.masks[i]``."""
        targets = []
        for index, sample in enumerate(data_samples):
            if 'gt_instances' not in sample or 'masks' not in sample.gt_instances:
                raise KeyError(f'prompt sample {index} ({sample.metainfo.get("img_path")}) has '
                               'no gt_instances.masks to supervise its prompts')
            gt = sample.gt_instances
            if len(gt) != len(sample.prompts):
                raise ValueError(f'prompt sample {index}: {len(sample.prompts)} prompts but '
                                 f'{len(gt)} GT masks (prompt i needs mask i)')
            targets.append(dict(labels=gt.labels.to(inputs.device),
                                masks=gt.masks.to(inputs.device)))
        features = self.encode(inputs)
        rate = float(getattr(self.prompt_encoder, 'corrective_clicks', 0.0))
        if rate > 0 and float(torch.rand(())) < rate:
            self.add_corrective_clicks(features, data_samples,
                                       [target['masks'] for target in targets])
        output, _ = self.decode(features, data_samples)
        return self.criterion(output.predictions, targets, paired=True)

    @torch.no_grad()
    def add_corrective_clicks(self, features: ImageFeatures, data_samples: Sequence,
                              gt_masks: Sequence[Tensor]) -> None:
        """Append to every prompt one click on its current error (see ``PromptEncoder``'s
        ``corrective_clicks``): decode without gradients, compare each mask with its target
        at the mask resolution, click a random pixel of the larger of the missed (positive
        click) and the wrongly covered (negative click) regions. Prompts without error get a
        padding slot (label -1)."""
        output, _ = self.decode(features, data_samples, inference=True)
        logits = output.last.mask_logits  # (B, N, h, w), stride 4 of the padded input
        height, width = logits.shape[-2:]
        for index, sample in enumerate(data_samples):
            gt = gt_masks[index].bool()
            stride_y, stride_x = gt.shape[-2] / height, gt.shape[-1] / width
            # the target at the centre pixel of every mask cell
            rows = (torch.arange(height, device=gt.device) * stride_y + stride_y / 2).long()
            cols = (torch.arange(width, device=gt.device) * stride_x + stride_x / 2).long()
            target = gt[:, rows][:, :, cols]
            pred = logits[index, :len(gt)] > 0
            missed, extra = target & ~pred, pred & ~target
            positive = missed.flatten(1).sum(1) >= extra.flatten(1).sum(1)
            region = torch.where(positive[:, None, None], missed, extra).flatten(1).float()
            has_error = region.sum(1) > 0
            pick = torch.multinomial(region + (~has_error[:, None]).float(), 1)[:, 0]
            ys, xs = pick // width, pick % width
            click = torch.stack([xs * stride_x + stride_x / 2,
                                 ys * stride_y + stride_y / 2], dim=-1).floor()
            label = torch.where(has_error, positive.long(), torch.full_like(positive.long(), -1))
            prompts = sample.prompts
            device = prompts.boxes.device
            if 'points' in prompts:
                points = torch.cat([prompts.points, click[:, None].to(prompts.points)], dim=1)
                labels = torch.cat([prompts.point_labels, label[:, None].to(device)], dim=1)
            else:
                points, labels = click[:, None].to(device), label[:, None].to(device)
            prompts.points, prompts.point_labels = points, labels

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence, rescale: bool = True) -> List:
        return self.predict_features(self.encode(inputs), data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_features(self, features: ImageFeatures, data_samples: Sequence,
                         rescale: bool = True) -> List:
        """Fill ``pred_prompts`` of every sample (see the module doc) from precomputed
        features; samples may hold different numbers of prompts."""
        output, counts = self.decode(features, data_samples, pad=True, inference=True)
        return self.predict_output(output, counts, features, data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_output(self, output: DecoderOutput, counts: Sequence[int],
                       features: ImageFeatures, data_samples: Sequence,
                       rescale: bool = True) -> List:
        """:meth:`predict_features` from the prompts' decoder output (one prediction per
        prompt, ``counts[i]`` real prompts in sample i, the rest padding)."""
        prediction, class_logits = self.final_predictions(output, features, data_samples)
        for index, (sample, count) in enumerate(zip(data_samples, counts)):
            meta = sample.metainfo
            masks = restore_mask_logits(prediction.mask_logits[index, :count], meta['img_shape'],
                                        meta['ori_shape'] if rescale else None) > 0
            labels, scores = label_prompt_masks(class_logits[index, :count])
            sample.pred_prompts = InstanceData(masks=masks, labels=labels, scores=scores)
        return list(data_samples)
