"""`QueryPostprocessor`: per-image panoptic / instance / semantic results from query outputs
(upstream ``OMGFusionHead`` in ``seg/models/fusion_head/omgseg_fusionhead.py``)."""
import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
from mmengine.structures import PixelData
from torch import Tensor

from seg.registry import MODELS
from seg.utils.config_keys import frozen_dataclass_from_cfg

from .instance import InstanceRule
from .panoptic import PanopticRule
from .query_masks import QueryMasks
from .query_sweep import sweep_queries
from .semantic import SemanticRule


@dataclass(frozen=True)
class PostprocessConfig:
    """Which results to produce and the rules' thresholds (the model's ``test_cfg``).

    panoptic_on / instance_on / semantic_on: switch each output.
    object_mask_thr, iou_thr, filter_low_score: the panoptic rule (``panoptic_postprocess``).
    max_per_image: instances kept (``instance_postprocess``).
    """
    panoptic_on: bool = True
    instance_on: bool = False
    semantic_on: bool = False
    max_per_image: int = 100
    iou_thr: float = 0.8
    filter_low_score: bool = False
    object_mask_thr: float = 0.8

    @classmethod
    def build(cls, cfg: Union['PostprocessConfig', Mapping, None],
              where: str = 'test_cfg') -> 'PostprocessConfig':
        if isinstance(cfg, cls):
            return cfg
        return frozen_dataclass_from_cfg(cls, cfg, where)

    def updated(self, changes: Optional[Mapping], where: str = 'test_cfg'
                ) -> 'PostprocessConfig':
        """A copy with ``changes`` applied (unknown keys raise ``KeyError``)."""
        return self.build({**dataclasses.asdict(self), **dict(changes or {})}, where)


@MODELS.register_module()
@MODELS.register_module(name='OMGFusionHead')  # the reference's name, for older configs
class QueryPostprocessor:
    """Turns mask-classification outputs into task results; no parameters.

    Args:
        test_cfg: :class:`PostprocessConfig` or its keys.
    """

    def __init__(self, test_cfg: Union[PostprocessConfig, Mapping, None] = None) -> None:
        self.cfg = PostprocessConfig.build(test_cfg)

    def predict(self, class_logits: Tensor, mask_logits: Tensor, data_samples: Sequence,
                num_things: int, rescale: bool = True) -> List[Dict[str, object]]:
        """Post-process a batch.

        Args:
            class_logits: (B, Q, K+1) class logits (last column = no-object).
            mask_logits: (B, Q, h, w) mask logits: at stride 4 or already at the padded batch
                input size (``batch_input_shape``). Only the masks a rule needs are resized
                (:class:`QueryMasks`: the panoptic rule's kept queries, the instance rule's
                top-k, all for the semantic rule), each once for all the rules, a band of
                rows at a time (:func:`sweep_queries`).
            data_samples: one data sample per image whose metainfo has ``img_shape`` (valid,
                unpadded region), ``batch_input_shape`` when the masks are not at that size
                and, with ``rescale``, ``ori_shape``.
            num_things: things are labels ``[0, num_things)``, stuff the rest of the K.
            rescale: resize the cropped logits (bilinear) to ``ori_shape`` before fusing.

        Returns:
            One dict per image with, as switched on, ``'panoptic'``
            (``PixelData(sem_seg=(1, h, w) int32)``), ``'instances'`` (``InstanceData``)
            and ``'semantic'`` (``PixelData(sem_seg=(1, h, w) int64)``).
        """
        self._check_batch(class_logits, mask_logits, data_samples, num_things)
        # The fusion's softmax / sigmoid products and sums run in float32 whatever the
        # network's dtype (bf16 inference): the stride-4 logits are cast here, once.
        with torch.autocast(class_logits.device.type, enabled=False):
            return self._predict(class_logits.float(), mask_logits.float(), data_samples,
                                 num_things, rescale)

    def _predict(self, class_logits: Tensor, mask_logits: Tensor, data_samples: Sequence,
                 num_things: int, rescale: bool) -> List[Dict[str, object]]:
        cfg = self.cfg
        num_stuff = class_logits.shape[-1] - 1 - num_things
        results = []
        for image_logits, image_masks, sample in zip(class_logits, mask_logits, data_samples):
            meta = sample.metainfo
            for key in ('img_shape', 'ori_shape') if rescale else ('img_shape',):
                if key not in meta:
                    raise KeyError(f'data sample metainfo lacks {key!r} (has {sorted(meta)})')
            masks = QueryMasks(image_masks.to(image_logits.device),
                               meta.get('batch_input_shape', image_masks.shape[-2:]),
                               meta['img_shape'], meta['ori_shape'] if rescale else None)
            rules = {}
            if cfg.panoptic_on:
                rules['panoptic'] = PanopticRule(
                    image_logits, masks.shape[-2:], num_things, num_stuff,
                    object_mask_thr=cfg.object_mask_thr, iou_thr=cfg.iou_thr,
                    filter_low_score=cfg.filter_low_score)
            if cfg.instance_on:
                rules['instances'] = InstanceRule(image_logits, masks.shape[-2:], num_things,
                                                  max_per_image=cfg.max_per_image)
            if cfg.semantic_on:
                rules['semantic'] = SemanticRule(image_logits, masks.shape[-2:])
            # One pass, band by band: every query mask is resized and passed through the
            # sigmoid once for all the rules switched on.
            outputs = dict(zip(rules, sweep_queries(masks, list(rules.values()))))
            result = {}
            if 'panoptic' in outputs:
                result['panoptic'] = PixelData(sem_seg=outputs['panoptic'][None])
            if 'instances' in outputs:
                result['instances'] = outputs['instances']
            if 'semantic' in outputs:
                result['semantic'] = PixelData(sem_seg=outputs['semantic'][None])
            results.append(result)
        return results

    @staticmethod
    def _check_batch(class_logits: Tensor, mask_logits: Tensor, data_samples: Sequence,
                     num_things: int) -> None:
        if class_logits.dim() != 3 or mask_logits.dim() != 4:
            raise ValueError(
                f'expected class_logits (B, Q, K+1) and mask_logits (B, Q, H, W), got '
                f'{tuple(class_logits.shape)} and {tuple(mask_logits.shape)}')
        if not 0 <= num_things <= class_logits.shape[-1] - 1:
            raise ValueError(f'num_things={num_things} does not fit class logits with '
                             f'{class_logits.shape[-1] - 1} classes (+ no-object)')
        if class_logits.shape[:2] != mask_logits.shape[:2]:
            raise ValueError(
                f'batch/query sizes differ: class_logits {tuple(class_logits.shape[:2])} '
                f'vs mask_logits {tuple(mask_logits.shape[:2])}')
        if len(data_samples) != class_logits.shape[0]:
            raise ValueError(f'{len(data_samples)} data samples for a batch of '
                             f'{class_logits.shape[0]} predictions')


OMGFusionHead = QueryPostprocessor  # importable under the reference's name too
