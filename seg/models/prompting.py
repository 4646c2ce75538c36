"""Prompt (interactive) batches of :class:`OMGSegmentor`: losses, labelled masks, click protocol.

A batch is a prompt batch when its samples carry ``prompts`` (``InstanceData`` with ``boxes``
(N, 4) and ``is_point`` (N,), see ``seg.models.heads.prompt_queries``); the number of queries
never decides it (reference trap 9). Prompt and semantic samples in one batch are refused.

* Training: prompt i is supervised by ``gt_instances.masks[i]`` (BCE + Dice, no matching, no
  class loss).
* Prediction: ``pred_prompts`` = ``InstanceData`` with, per prompt, ``masks`` (bool, original
  image size with ``rescale``), ``labels`` (best class of the current vocabulary, background
  excluded) and ``scores`` (its probability in the softmax over the K classes + no-object,
  after the open-vocabulary fusion when enabled). With ``interactive_test_cfg.max_clicks > 1``
  and GT masks in the sample (one per prompt, e.g. from ``GenerateEvalClicks``), the
  multi-click protocol of ``seg.evaluation.functional.interactive`` also runs and
  ``click_ious`` (N, max_clicks) is added; samples without GT just get their masks.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData

from seg.evaluation.functional.interactive import input_scale_of_masks, simulate_clicks
from .heads.prompt_queries import stack_sample_prompts
from .postprocess.mask_ops import restore_mask_logits


@dataclass(frozen=True)
class InteractiveTestConfig:
    """``max_clicks``: clicks per object (1 = the reference's single centre click);
    ``stop_iou``: IoU after which an object gets no more clicks (keep it >= the highest NoC
    threshold); ``with_panoptic``: also run the semantic queries on prompt batches (one test
    pass gives both PQ and interactive metrics)."""
    max_clicks: int = 1
    stop_iou: float = 0.9
    with_panoptic: bool = False

    @classmethod
    def build(cls, cfg) -> 'InteractiveTestConfig':
        if isinstance(cfg, cls):
            return cfg
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise KeyError(f'unknown interactive_test_cfg keys {sorted(unknown)}; allowed '
                           f'{sorted(cls.__dataclass_fields__)}')
        config = cls(**cfg)
        if config.max_clicks < 1:
            raise ValueError(f'interactive_test_cfg.max_clicks must be >= 1, got '
                             f'{config.max_clicks}')
        return config


def is_prompt_batch(data_samples: Sequence) -> bool:
    """True when every sample carries ``prompts``, False when none does; a mix raises."""
    if not data_samples:
        return False
    flags = ['prompts' in sample for sample in data_samples]
    if all(flags):
        return True
    if any(flags):
        raise ValueError(
            f'a batch mixes prompt samples ({sum(flags)}) and semantic samples '
            f'({len(flags) - sum(flags)}): every batch must come from one source (a '
            'single-source batch sampler, or batch_size=1 per GPU as the reference)')
    return False


def prompt_queries(model, data_samples: Sequence, training: bool, pad: bool = False
                   ) -> Tuple[Dict[str, torch.Tensor], List[int]]:
    """The head's ``queries`` for the prompts of a batch, and the prompt count per sample
    (``pad``: samples with fewer prompts are padded, see ``stack_sample_prompts``)."""
    boxes, is_point, img_shapes, counts = stack_sample_prompts(data_samples, pad=pad)
    queries = model.prompt_encoder(model.panoptic_head, boxes, is_point, img_shapes,
                                   training=training)
    return queries, counts


def prompt_loss(model, inputs: torch.Tensor, data_samples: Sequence) -> Dict[str, torch.Tensor]:
    """Losses of a prompt batch: prompt i against ``gt_instances.masks[i]``."""
    queries, _ = prompt_queries(model, data_samples, training=True)
    targets = []
    for index, sample in enumerate(data_samples):
        if 'gt_instances' not in sample or 'masks' not in sample.gt_instances:
            raise KeyError(f'prompt sample {index} ({sample.metainfo.get("img_path")}) has no '
                           'gt_instances.masks to supervise its prompts')
        gt = sample.gt_instances
        if len(gt) != len(sample.prompts):
            raise ValueError(f'prompt sample {index}: {len(sample.prompts)} prompts but '
                             f'{len(gt)} GT masks (prompt i needs mask i)')
        targets.append(dict(labels=gt.labels.to(inputs.device),
                            masks=gt.masks.to(inputs.device)))
    return model.panoptic_head.loss(model.extract_feat(inputs), targets, queries=queries)


def label_prompt_masks(mask_cls: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(N, K+1) logits -> best real class and its probability (softmax over K+1)."""
    probs = mask_cls.float().softmax(-1)
    scores, labels = probs[:, :-1].max(-1)
    return labels, scores


def prompt_predict(model, feats: List[torch.Tensor], data_samples: Sequence,
                   rescale: bool = True) -> None:
    """Fill ``pred_prompts`` of every sample (see module doc)."""
    batch_input_shape = data_samples[0].metainfo.get(
        'batch_input_shape', tuple(4 * side for side in feats[0].shape[-2:]))
    queries, counts = prompt_queries(model, data_samples, training=False, pad=True)
    outputs = model.panoptic_head.predict(feats, batch_input_shape, queries=queries)
    mask_cls = model.open_vocab_logits(feats, outputs['mask_cls'], outputs['mask_pred'])
    cfg = model.interactive_test_cfg
    for index, (sample, count) in enumerate(zip(data_samples, counts)):
        meta = sample.metainfo
        masks = restore_mask_logits(outputs['mask_pred'][index, :count], meta['img_shape'],
                                    meta['ori_shape'] if rescale else None) > 0
        labels, scores = label_prompt_masks(mask_cls[index, :count])
        result = InstanceData(masks=masks, labels=labels, scores=scores)
        if cfg.max_clicks > 1 and 'gt_instances' in sample:  # the protocol needs the GT
            single = [feat[index:index + 1] for feat in feats]
            ious = _click_protocol(model, single, sample, batch_input_shape, cfg)
            result.click_ious = torch.from_numpy(ious)
        sample.pred_prompts = result


def _click_protocol(model, feats: List[torch.Tensor], sample, batch_input_shape,
                    cfg: InteractiveTestConfig) -> np.ndarray:
    """IoU after each click for every GT mask of one image (clicks decoded one per query)."""
    meta = sample.metainfo
    if len(sample.gt_instances) != len(sample.prompts):
        raise ValueError(f'{meta.get("img_path")}: the click protocol needs one GT mask per '
                         'prompt (gt_instances.masks aligned with prompts)')
    gt_masks = sample.gt_instances.masks.cpu().numpy().astype(bool)
    scale, target_shape = input_scale_of_masks(gt_masks.shape[-2:], meta['img_shape'],
                                               meta.get('ori_shape'),
                                               meta.get('scale_factor', (1.0, 1.0)))
    head = model.panoptic_head
    img_shape = tuple(meta['img_shape'][:2])
    pixel_features = head.pixel_decoder(feats)  # shared by every click round

    def decode(points: np.ndarray) -> np.ndarray:
        scaled = torch.from_numpy(points * np.asarray(scale, dtype=np.float32))
        boxes = torch.cat([scaled, scaled], dim=-1)[None]
        is_point = torch.ones(boxes.shape[:2], dtype=torch.bool)
        queries = model.prompt_encoder(head, boxes, is_point, [img_shape], training=False)
        mask_pred = head.predict(feats, batch_input_shape, queries=queries,
                                 pixel_features=pixel_features)['mask_pred'][0]
        resize_to = target_shape if target_shape != img_shape else None
        return (restore_mask_logits(mask_pred, img_shape, resize_to) > 0).cpu().numpy()

    ious, _ = simulate_clicks(decode, gt_masks, max_clicks=cfg.max_clicks,
                              stop_iou=cfg.stop_iou)
    return ious
