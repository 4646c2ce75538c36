"""The segmentor's three modes for clip batches (``TrackSegDataSample``).

Inputs are (B, T, 3, H, W); frames are folded into the batch for the backbone and the pixel
decoder and the head predicts one tube per query (reference sections 1.1 and 1.4).
"""
from typing import Dict, List

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from seg.models.heads.video_targets import video_panoptic_targets
from seg.models.postprocess.video import frame_results_to_sample
from seg.structures import TrackSegDataSample
from .inference import VideoInference


def _check_clip_inputs(inputs: Tensor, data_samples: List[TrackSegDataSample]) -> None:
    if inputs.dim() != 5 or inputs.shape[2] != 3:
        raise ValueError(f'clip inputs must be (B, T, 3, H, W), got {tuple(inputs.shape)}')
    for index, sample in enumerate(data_samples):
        if len(sample) != inputs.shape[1]:
            raise ValueError(f'clip {index} has {len(sample)} frame samples for '
                             f'{inputs.shape[1]} frames')


def clip_loss(model, inputs: Tensor, data_samples: List[TrackSegDataSample]
              ) -> Dict[str, Tensor]:
    """Tube matching and losses; every clip of the batch has the same number of frames."""
    _check_clip_inputs(inputs, data_samples)
    num_frames = inputs.shape[1]
    feats = model.extract_feat(inputs.flatten(0, 1))
    vocabulary = model.vocabulary
    targets = []
    for sample in data_samples:
        labels, masks, ids, sem_segs = [], [], [], []
        for frame in sample:
            if 'gt_instances' not in frame or 'instances_ids' not in frame.gt_instances:
                raise KeyError(f'training frame {frame.metainfo.get("img_path")} has no '
                               'gt_instances with instances_ids: the video pipeline must '
                               'load annotations (LoadVideoAnnotations / ImageToClip)')
            labels.append(frame.gt_instances.labels)
            masks.append(frame.gt_instances.masks)
            ids.append(frame.gt_instances.instances_ids)
            sem_segs.append(frame.gt_sem_seg.sem_seg if 'gt_sem_seg' in frame else None)
        tube_labels, tube_masks = video_panoptic_targets(
            labels, masks, ids, sem_segs, vocabulary.num_things, vocabulary.num_stuff)
        targets.append(dict(labels=tube_labels.to(inputs.device),
                            masks=tube_masks.to(inputs.device)))
    return model.panoptic_head.loss(feats, targets, num_frames=num_frames)


def clip_tensor_forward(model, inputs: Tensor) -> Dict[str, List[Tensor]]:
    """Every prediction's class (B, Q, K+1), objectness (B, Q, 1) and tube mask logits
    (B, Q, T, H/4, W/4)."""
    if inputs.dim() != 5:
        raise ValueError(f'clip inputs must be (B, T, 3, H, W), got {tuple(inputs.shape)}')
    feats = model.extract_feat(inputs.flatten(0, 1))
    cls_preds, mask_preds, _ = model.panoptic_head(feats, num_frames=inputs.shape[1])
    return dict(cls_preds=[c[..., :-1] for c in cls_preds],
                objectness=[c[..., -1:] for c in cls_preds], mask_preds=mask_preds)


@torch.no_grad()
def clip_predict(model, inputs: Tensor, data_samples: List[TrackSegDataSample]
                 ) -> List[TrackSegDataSample]:
    """Video inference per clip (whole-clip or online, from ``model.video_cfg``); results go
    into the frame samples and ``pred_track_instances``."""
    _check_clip_inputs(inputs, data_samples)
    inference = VideoInference(model, getattr(model, 'video_cfg', None))
    for clip, sample in zip(inputs, data_samples):
        frames = list(sample)
        track_masks = []

        def store(t, outputs, frames=frames, track_masks=track_masks):
            frame_results_to_sample(frames[t], outputs)
            if 'instances' in outputs:
                track_masks.append(outputs['instances'].masks.cpu())

        summary = inference.run(clip, frames, store)
        tracks = summary['tracks']
        if tracks is not None:
            masks = torch.stack(track_masks, dim=1) if track_masks else None
            sample.pred_track_instances = InstanceData(
                masks=masks, labels=tracks['labels'].cpu(), scores=tracks['scores'].cpu(),
                instances_id=tracks['instances_id'].cpu())
    return data_samples
