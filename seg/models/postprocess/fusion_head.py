"""`OMGFusionHead`: per-image panoptic / instance / semantic results from query outputs."""
from typing import Dict, List, Optional, Sequence

from mmengine.model import BaseModule
from mmengine.structures import PixelData
from torch import Tensor

from seg.registry import MODELS

from .instance import instance_postprocess
from .mask_ops import restore_mask_logits
from .panoptic import panoptic_postprocess
from .semantic import semantic_postprocess

DEFAULT_TEST_CFG = dict(
    panoptic_on=True,
    instance_on=False,
    semantic_on=False,
    max_per_image=100,
    iou_thr=0.8,
    filter_low_score=False,
    object_mask_thr=0.8,
)


@MODELS.register_module()
class OMGFusionHead(BaseModule):
    """Parameter-free head turning mask-classification outputs into task results.

    Args:
        num_things_classes: things are labels ``[0, num_things_classes)``.
        num_stuff_classes: stuff labels follow the things; K = things + stuff.
        test_cfg: overrides of ``DEFAULT_TEST_CFG`` (``panoptic_on``, ``instance_on``,
            ``semantic_on`` switch the outputs; ``object_mask_thr``, ``iou_thr``,
            ``filter_low_score`` drive the panoptic rule; ``max_per_image`` the instance one).
            Unknown keys raise ``KeyError``.
    """

    def __init__(self,
                 num_things_classes: int = 80,
                 num_stuff_classes: int = 53,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_things_classes < 0 or num_stuff_classes < 0:
            raise ValueError(
                f'class counts must be non-negative, got num_things_classes='
                f'{num_things_classes}, num_stuff_classes={num_stuff_classes}')
        self.num_things_classes = num_things_classes
        self.num_stuff_classes = num_stuff_classes
        self.num_classes = num_things_classes + num_stuff_classes
        test_cfg = dict(test_cfg or {})
        unknown = sorted(set(test_cfg) - set(DEFAULT_TEST_CFG))
        if unknown:
            raise KeyError(f'OMGFusionHead got unknown test_cfg keys {unknown}; '
                           f'allowed: {sorted(DEFAULT_TEST_CFG)}')
        self.test_cfg = {**DEFAULT_TEST_CFG, **test_cfg}

    def predict(self,
                mask_cls_results: Tensor,
                mask_pred_results: Tensor,
                batch_data_samples: Sequence,
                rescale: bool = True) -> List[Dict[str, object]]:
        """Post-process a batch.

        Args:
            mask_cls_results: (B, Q, K+1) class logits (last column = no-object).
            mask_pred_results: (B, Q, H, W) mask logits at the padded batch input size.
            batch_data_samples: one data sample per image whose metainfo has ``img_shape``
                (valid, unpadded region) and, with ``rescale``, ``ori_shape``.
            rescale: resize the cropped logits (bilinear) to ``ori_shape`` before fusing.

        Returns:
            One dict per image with, as switched on, ``'pan_results'``
            (``PixelData(sem_seg=(1, h, w) int32)``), ``'ins_results'`` (``InstanceData``)
            and ``'sem_results'`` (``PixelData(sem_seg=(1, h, w) int64)``).
        """
        self._check_batch(mask_cls_results, mask_pred_results, batch_data_samples)
        cfg = self.test_cfg
        results = []
        for mask_cls, mask_pred, data_sample in zip(mask_cls_results, mask_pred_results,
                                                     batch_data_samples):
            meta = data_sample.metainfo
            for key in ('img_shape', 'ori_shape') if rescale else ('img_shape',):
                if key not in meta:
                    raise KeyError(f'data sample metainfo lacks {key!r} (has {sorted(meta)})')
            mask_pred = restore_mask_logits(mask_pred.to(mask_cls.device), meta['img_shape'],
                                            meta['ori_shape'] if rescale else None)
            result = {}
            if cfg['panoptic_on']:
                panoptic_seg = panoptic_postprocess(
                    mask_cls, mask_pred, self.num_things_classes, self.num_stuff_classes,
                    object_mask_thr=cfg['object_mask_thr'], iou_thr=cfg['iou_thr'],
                    filter_low_score=cfg['filter_low_score'])
                result['pan_results'] = PixelData(sem_seg=panoptic_seg[None])
            if cfg['instance_on']:
                result['ins_results'] = instance_postprocess(
                    mask_cls, mask_pred, self.num_things_classes,
                    max_per_image=cfg['max_per_image'])
            if cfg['semantic_on']:
                result['sem_results'] = PixelData(
                    sem_seg=semantic_postprocess(mask_cls, mask_pred)[None])
            results.append(result)
        return results

    def _check_batch(self, mask_cls_results: Tensor, mask_pred_results: Tensor,
                     batch_data_samples: Sequence) -> None:
        if mask_cls_results.dim() != 3 or mask_pred_results.dim() != 4:
            raise ValueError(
                f'expected mask_cls_results (B, Q, K+1) and mask_pred_results (B, Q, H, W), got '
                f'{tuple(mask_cls_results.shape)} and {tuple(mask_pred_results.shape)}')
        if mask_cls_results.shape[-1] != self.num_classes + 1:
            raise ValueError(
                f'mask_cls_results has {mask_cls_results.shape[-1]} class columns but the fusion '
                f'head expects num_things_classes + num_stuff_classes + 1 = '
                f'{self.num_things_classes} + {self.num_stuff_classes} + 1 = '
                f'{self.num_classes + 1}')
        if mask_cls_results.shape[:2] != mask_pred_results.shape[:2]:
            raise ValueError(
                f'batch/query sizes differ: mask_cls_results {tuple(mask_cls_results.shape[:2])} '
                f'vs mask_pred_results {tuple(mask_pred_results.shape[:2])}')
        if len(batch_data_samples) != mask_cls_results.shape[0]:
            raise ValueError(f'{len(batch_data_samples)} data samples for a batch of '
                             f'{mask_cls_results.shape[0]} predictions')
