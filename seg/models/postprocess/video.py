"""Per-frame results of a video from video-level query predictions (upstream
``Mask2formerVideoMinVIS`` in ``seg/models/detectors/mask2former_vid_minvis.py`` and
``OMGFusionHead`` in ``seg/models/fusion_head/omgseg_fusionhead.py``).

The class logits (and objectness) of a video are one per query for the whole video; each frame
is fused with them and its own mask logits by ``QueryPostprocessor``, so the same queries
survive in every frame. On top of the image post-processing:

* VIS: track id = rank + 1 of the (query, class) pair in the instance top-k, the same in every
  frame; a track's score is the mean of its per-frame scores (as mmdet's YouTube-VIS metric).
* VPS: instance id = 1 + position of the query among the video-level kept thing queries, so an
  object keeps its id even when another query drops out of a frame (the reference counts the
  survivors of each frame, so its ids can shift from frame to frame).
* VSS: the image post-processing's semantic map.
* VOS: the ``num_proposals`` queries of highest objectness are matched on frame 0 to the given
  first-frame masks (Hungarian on IoU); every frame paints the matched proposals' masks
  (sigmoid > 0.5) with their object id, higher objectness on top.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from seg.utils.constants import INSTANCE_OFFSET
from .query_postprocessor import QueryPostprocessor
from .mask_ops import restore_mask_logits


def match_proposals_to_objects(proposal_masks: Tensor, object_masks: Tensor) -> Dict[int, int]:
    """Hungarian matching maximising IoU: {proposal index: object index}.

    ``proposal_masks`` (P, H, W) and ``object_masks`` (G, H, W) binary; every object (or every
    proposal, whichever is fewer) is matched, as the reference, even at zero IoU.
    """
    if proposal_masks.shape[-2:] != object_masks.shape[-2:]:
        raise ValueError(f'proposal masks {tuple(proposal_masks.shape[-2:])} and first-frame '
                         f'masks {tuple(object_masks.shape[-2:])} differ in size')
    proposals = proposal_masks.flatten(1).float()
    objects = object_masks.flatten(1).float().to(proposals.device)
    intersection = proposals @ objects.t()
    union = proposals.sum(1, keepdim=True) + objects.sum(1) - intersection
    iou = intersection / union.clamp(min=1)
    rows, cols = linear_sum_assignment(-iou.cpu().numpy())
    return {int(row): int(col) for row, col in zip(rows, cols)}


def _masks_at_original_size(masks: Tensor, meta: dict) -> Tensor:
    """Given first-frame masks at ``ori_shape``, or padded to the input batch (the data
    preprocessor pads targets of the image's size): cropped and resized to ``ori_shape``."""
    masks = masks.bool()
    ori_shape = tuple(meta['ori_shape'][:2])
    if tuple(masks.shape[-2:]) == ori_shape:
        return masks
    if tuple(masks.shape[-2:]) != tuple(meta.get('batch_input_shape', ())):
        raise ValueError(f'first-frame masks of size {tuple(masks.shape[-2:])} match neither '
                         f'ori_shape {ori_shape} nor the padded input size '
                         f'{meta.get("batch_input_shape")} ({meta.get("img_path")})')
    height, width = meta['img_shape'][:2]
    cropped = masks[:, :height, :width].float()[None]
    return F.interpolate(cropped, size=ori_shape, mode='nearest')[0].bool()


class VideoFramePostprocessor:
    """Turns one frame's mask logits into the video tasks' results (see the module doc).

    Args:
        postprocessor: its ``cfg`` switches panoptic (VPS), instance (VIS) and semantic
            (VSS) outputs.
        num_things: things are classes ``[0, num_things)``.
        mask_cls: (Q, K+1) video-level class logits.
        objectness: (Q, 1) video-level objectness logits; needed for VOS.
        vos_on: produce VOS id maps; ``frame`` then needs, on the first call, a frame sample
            with ``gt_instances`` (``masks`` at the original size and ``instances_ids``).
        num_proposals: VOS proposals (top objectness queries).
    """

    def __init__(self, postprocessor: QueryPostprocessor, num_things: int, mask_cls: Tensor,
                 objectness: Optional[Tensor] = None, vos_on: bool = False,
                 num_proposals: int = 25) -> None:
        if mask_cls.dim() != 2:
            raise ValueError(f'mask_cls must be (Q, K+1), got {tuple(mask_cls.shape)}')
        self.postprocessor = postprocessor
        self.num_things = num_things
        self.mask_cls = mask_cls
        scores, labels = F.softmax(mask_cls, dim=-1).max(-1)
        num_classes = mask_cls.shape[-1] - 1
        kept = labels.ne(num_classes) & (scores > postprocessor.cfg.object_mask_thr)
        self.kept_queries = kept.nonzero().flatten()
        self.kept_scores = scores[kept]
        kept_is_thing = labels[kept] < num_things
        # Video-level instance id of every kept query (things: 1, 2, ... in query order).
        self.kept_instance_ids = torch.cumsum(kept_is_thing.long(), 0) * kept_is_thing
        self.vos_on = vos_on
        self.num_frames_seen = 0
        self.track_score_sum: Optional[Tensor] = None
        self.track_labels: Optional[Tensor] = None
        if vos_on:
            if objectness is None:
                raise ValueError('VOS needs the objectness logits of the queries')
            if num_proposals < 1:
                raise ValueError(f'num_proposals must be positive, got {num_proposals}')
            count = min(num_proposals, mask_cls.shape[0])
            top = objectness.flatten().sigmoid().topk(count).indices
            self.proposals = top.flip(0)  # ascending objectness: later ones are painted on top
            self.proposal_to_object: Optional[Dict[int, int]] = None
            self.object_ids: Optional[Tensor] = None

    @torch.no_grad()
    def frame(self, mask_logits: Tensor, frame_sample) -> dict:
        """Results of one frame from its (Q, H_pad, W_pad) mask logits (at the padded input
        size). Keys as switched on: ``panoptic`` (H, W) int32, ``instances`` (InstanceData
        with ``instances_id``), ``semantic`` (H, W) int64, ``vos`` (H, W) int32; all at the
        frame's ``ori_shape``."""
        fused = self.postprocessor.predict(self.mask_cls[None], mask_logits[None],
                                           [frame_sample], self.num_things, rescale=True)[0]
        meta = frame_sample.metainfo
        outputs = {}
        if 'panoptic' in fused:
            outputs['panoptic'] = self._stable_instance_ids(
                fused['panoptic'].sem_seg[0], mask_logits, meta)
        if 'instances' in fused:
            outputs['instances'] = self._track_instances(fused['instances'])
        if 'semantic' in fused:
            outputs['semantic'] = fused['semantic'].sem_seg[0]
        if self.vos_on:
            outputs['vos'] = self._vos_frame(mask_logits, frame_sample)
        self.num_frames_seen += 1
        return outputs

    def _stable_instance_ids(self, panoptic: Tensor, mask_logits: Tensor, meta: dict) -> Tensor:
        """Replace the per-frame thing ids by the video-level ones.

        A thing pixel belongs to the kept query maximising score * sigmoid(mask), exactly the
        panoptic rule's pixel assignment, so re-deriving that owner identifies the query.
        """
        is_thing_pixel = panoptic >= INSTANCE_OFFSET
        if not bool(is_thing_pixel.any()):
            return panoptic
        kept_logits = restore_mask_logits(mask_logits[self.kept_queries].to(panoptic.device),
                                          meta['img_shape'], meta['ori_shape'])
        owner = (self.kept_scores.view(-1, 1, 1).to(kept_logits.device)
                 * kept_logits.sigmoid()).argmax(0)
        stable = (panoptic % INSTANCE_OFFSET
                  + self.kept_instance_ids.to(owner.device)[owner] * INSTANCE_OFFSET)
        return torch.where(is_thing_pixel, stable.to(panoptic.dtype), panoptic)

    def _track_instances(self, instances: InstanceData) -> InstanceData:
        instances.instances_id = torch.arange(1, len(instances) + 1,
                                              device=instances.labels.device)
        if self.track_score_sum is None:
            self.track_score_sum = instances.scores.clone()
            self.track_labels = instances.labels.clone()
        else:
            self.track_score_sum += instances.scores
        return instances

    def _vos_frame(self, mask_logits: Tensor, frame_sample) -> Tensor:
        meta = frame_sample.metainfo
        logits = restore_mask_logits(mask_logits[self.proposals], meta['img_shape'],
                                     meta['ori_shape'])
        masks = logits.sigmoid() > 0.5
        if self.proposal_to_object is None:
            if 'gt_instances' not in frame_sample or 'instances_ids' not in \
                    frame_sample.gt_instances:
                raise KeyError('VOS needs the first frame\'s gt_instances (masks and '
                               f'instances_ids); frame {meta.get("img_path")} has none')
            objects = frame_sample.gt_instances
            self.object_ids = objects.instances_ids.to(torch.int32)
            self.proposal_to_object = match_proposals_to_objects(
                masks, _masks_at_original_size(objects.masks, meta))
        vos = torch.zeros(masks.shape[-2:], dtype=torch.int32, device=masks.device)
        for proposal in sorted(self.proposal_to_object):  # ascending objectness
            object_id = self.object_ids[self.proposal_to_object[proposal]].to(masks.device)
            vos[masks[proposal]] = object_id
        return vos

    def track_summary(self) -> Optional[dict]:
        """VIS tracks after the last frame: ``labels``, ``scores`` (mean of the per-frame
        scores) and ``instances_id``; None when instance output is off."""
        if self.track_score_sum is None:
            return None
        return dict(labels=self.track_labels,
                    scores=self.track_score_sum / max(self.num_frames_seen, 1),
                    instances_id=torch.arange(1, len(self.track_labels) + 1,
                                              device=self.track_labels.device))


def frame_results_to_sample(frame_sample, outputs: dict) -> None:
    """Store one frame's results in its ``SegDataSample`` (field names in
    ``TrackSegDataSample``'s doc)."""
    if 'panoptic' in outputs:
        frame_sample.pred_panoptic_seg = PixelData(sem_seg=outputs['panoptic'][None])
    if 'instances' in outputs:
        frame_sample.pred_instances = outputs['instances']
    if 'semantic' in outputs:
        frame_sample.pred_sem_seg = PixelData(sem_seg=outputs['semantic'][None])
    if 'vos' in outputs:
        frame_sample.pred_vos_seg = PixelData(sem_seg=outputs['vos'][None])
