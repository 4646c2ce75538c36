"""The multi-click evaluation protocol, driving a segmentor through ``predict_prompts``.

For every test image whose objects are prompted (``prompts`` aligned with
``gt_instances.masks``, e.g. from ``GenerateEvalClicks``), each object gets a first click at
its farthest interior point and corrective clicks after that (``simulate_clicks``); every
round is one ``predict_prompts`` call on features computed once per image, the image cut to
its own padded size (the result does not depend on the other images of the test batch). With
a multi-point model each object is one prompt holding all its clicks so far. The IoU after each
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


FEEDBACK = ('auto', 'compose', 'multi_point')


@dataclass(frozen=True)
class ClickProtocol:
    """``max_clicks``: clicks per object; ``stop_iou``: IoU after which an object gets no
    more clicks (keep it >= the highest NoC threshold); ``feedback``: how clicks are given to
    the model (``simulate_clicks``' modes; ``'auto'``: ``'multi_point'`` when the model's
    prompt encoder takes several clicks per prompt, else ``'compose'``)."""
    max_clicks: int = 1
    stop_iou: float = 0.9
    feedback: str = 'auto'

    def __post_init__(self):
        if self.max_clicks < 1:
            raise ValueError(f'max_clicks must be >= 1, got {self.max_clicks}')
        if self.feedback not in FEEDBACK:
            raise ValueError(f'feedback must be one of {FEEDBACK}, got {self.feedback!r}')

    def mode_for(self, model) -> str:
        if self.feedback != 'auto':
            return self.feedback
        encoder = getattr(model, 'prompt_encoder', None)
        return 'multi_point' if getattr(encoder, 'multi_point', False) else 'compose'

    @property
    def needs_model(self) -> bool:
        """One click is the prompts the test pipeline already gave: no extra decoding."""
        return self.max_clicks > 1


def object_click_ious(model, features, sample, protocol: ClickProtocol,
                      input_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """(M, max_clicks) IoUs of the M GT objects of one image (``features``: the image's
    ``model.image_features``; ``input_shape``: the padded size they were computed at, when
    not the sample's ``batch_input_shape``)."""
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
    if input_shape is not None:
        query.set_metainfo(dict(batch_input_shape=tuple(int(v) for v in input_shape)))

    factors = np.asarray(scale, dtype=np.float32)

    def run(prompts: InstanceData) -> np.ndarray:
        query.prompts = prompts
        model.predict_prompts(features, [query], rescale=not at_input_size)
        return query.pred_prompts.masks.cpu().numpy()

    def decode(points: np.ndarray) -> np.ndarray:
        scaled = torch.from_numpy(points * factors).to(device)
        return run(InstanceData(boxes=torch.cat([scaled, scaled], dim=-1),
                                is_point=torch.ones(len(points), dtype=torch.bool,
                                                    device=device)))

    def decode_sequences(sequences) -> np.ndarray:
        return run(multi_point_prompts(sequences, factors, device))

    mode = protocol.mode_for(model)
    ious, _ = simulate_clicks(decode_sequences if mode == 'multi_point' else decode, gt_masks,
                              max_clicks=protocol.max_clicks, stop_iou=protocol.stop_iou,
                              mode=mode)
    return ious


def multi_point_prompts(sequences, scale=(1.0, 1.0), device=None) -> InstanceData:
    """Prompts (``InstanceData``) of click sequences (lists of (x, y, positive), first
    positive): the first click is the prompt's point, the rest its extra ``points`` /
    ``point_labels`` (padded with label -1); coordinates multiplied by ``scale`` (x, y)."""
    if not sequences or any(len(clicks) == 0 for clicks in sequences):
        raise ValueError('every prompt needs at least one click')
    if any(not clicks[0][2] for clicks in sequences):
        raise ValueError('the first click of a prompt must be positive')
    factors = np.asarray(scale, dtype=np.float32)
    extra = max(len(clicks) for clicks in sequences) - 1
    first = np.array([clicks[0][:2] for clicks in sequences], dtype=np.float32) * factors
    points = np.zeros((len(sequences), extra, 2), dtype=np.float32)
    labels = np.full((len(sequences), extra), -1, dtype=np.int64)
    for row, clicks in enumerate(sequences):
        for slot, (x, y, positive) in enumerate(clicks[1:]):
            points[row, slot] = (x * factors[0], y * factors[1])
            labels[row, slot] = int(bool(positive))
    first = torch.from_numpy(first).to(device)
    prompts = InstanceData(boxes=torch.cat([first, first], dim=-1),
                           is_point=torch.ones(len(sequences), dtype=torch.bool, device=device))
    if extra > 0:
        prompts.points = torch.from_numpy(points).to(device)
        prompts.point_labels = torch.from_numpy(labels).to(device)
    return prompts


def own_input(inputs: torch.Tensor, index: int, meta: dict) -> torch.Tensor:
    """Image ``index`` of a padded batch, cut to its own padded size (``pad_shape``) so that
    what the model sees of it does not depend on the other images of the batch."""
    pad_shape = meta.get('pad_shape')
    if pad_shape is None:
        return inputs[index:index + 1]
    height, width = (int(v) for v in pad_shape[:2])
    return inputs[index:index + 1, :, :height, :width]


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
    processed = model.data_preprocessor(data_batch, False)
    inputs, processed_samples = processed['inputs'], processed.get('data_samples')
    for index in targets:
        meta = processed_samples[index].metainfo if processed_samples else {}
        image = own_input(inputs, index, meta)
        features = model.image_features(image)
        # The image is decoded alone, in its own padded frame.
        ious = object_click_ious(model, features, outputs[index], protocol,
                                 input_shape=tuple(image.shape[-2:]))
        outputs[index].pred_prompts.click_ious = torch.from_numpy(ious)
