"""The multi-click evaluation protocol, driving a segmentor through ``predict_prompts``.

For every test image whose objects are prompted (``prompts`` aligned with
``gt_instances.masks``, e.g. from ``GenerateEvalClicks``), each object gets a first click at
its farthest interior point and corrective clicks after that (``simulate_clicks``); every
round is one ``predict_prompts`` call on features computed once per image. The IoU after each
click goes to ``pred_prompts.click_ious`` (M, max_clicks), which ``InteractiveMetric`` turns
into NoC / mIoU@k. Test loops run it for the metrics that ask for it (``click_protocol``).
"""
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData

from seg.structures.clicks import input_scale_of_masks
from .functional.interactive import simulate_clicks


@dataclass(frozen=True)
class ClickProtocol:
    """``max_clicks``: clicks per object; ``stop_iou``: IoU after which an object gets no
    more clicks (keep it >= the highest NoC threshold)."""
    max_clicks: int = 1
    stop_iou: float = 0.9

    def __post_init__(self):
        if self.max_clicks < 1:
            raise ValueError(f'max_clicks must be >= 1, got {self.max_clicks}')

    @property
    def needs_model(self) -> bool:
        """One click is the prompts the test pipeline already gave: no extra decoding."""
        return self.max_clicks > 1


def object_click_ious(model, features, sample, protocol: ClickProtocol) -> np.ndarray:
    """(M, max_clicks) IoUs of the M GT objects of one image (``features``: the image's
    ``model.image_features``)."""
    meta = sample.metainfo
    if len(sample.gt_instances) != len(sample.prompts):
        raise ValueError(f'{meta.get("img_path")}: the click protocol needs one GT mask per '
                         'prompt (gt_instances.masks aligned with prompts)')
    gt_masks = sample.gt_instances.masks.cpu().numpy().astype(bool)
    scale, target_shape = input_scale_of_masks(gt_masks.shape[-2:], meta['img_shape'],
                                               meta.get('ori_shape'),
                                               meta.get('scale_factor', (1.0, 1.0)))
    at_input_size = tuple(target_shape) == tuple(int(v) for v in meta['img_shape'][:2])
    device = features.mask_features.device
    query = sample.__class__(metainfo=dict(meta))

    def decode(points: np.ndarray) -> np.ndarray:
        scaled = torch.from_numpy(points * np.asarray(scale, dtype=np.float32)).to(device)
        query.prompts = InstanceData(boxes=torch.cat([scaled, scaled], dim=-1),
                                     is_point=torch.ones(len(points), dtype=torch.bool,
                                                         device=device))
        model.predict_prompts(features, [query], rescale=not at_input_size)
        return query.pred_prompts.masks.cpu().numpy()

    ious, _ = simulate_clicks(decode, gt_masks, max_clicks=protocol.max_clicks,
                              stop_iou=protocol.stop_iou)
    return ious


@torch.no_grad()
def add_click_ious(model, data_batch: dict, outputs: Sequence,
                   protocol: Optional[ClickProtocol]) -> None:
    """Run the protocol on every prompted sample of a test batch that carries GT masks and
    store ``pred_prompts.click_ious``; samples without prompts or GT are left as they are."""
    if protocol is None or not protocol.needs_model:
        return
    targets = [index for index, sample in enumerate(outputs)
               if 'prompts' in sample and 'gt_instances' in sample and 'pred_prompts' in sample]
    if not targets:
        return
    inputs = model.data_preprocessor(data_batch, False)['inputs']
    for index in targets:
        features = model.image_features(inputs[index:index + 1])
        ious = object_click_ious(model, features, outputs[index], protocol)
        outputs[index].pred_prompts.click_ious = torch.from_numpy(ious)
