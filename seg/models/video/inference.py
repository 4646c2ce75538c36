"""Whole-clip and online (MinVIS) video inference with memory bounded by the tube length.

A video is cut into tubes (``video_split``); each tube is one clip forward of the model (tube
queries, frames folded into the batch). Consecutive tubes are linked by Hungarian matching of
the last decoder layer's query features; class and objectness logits are averaged over the
tubes (upstream ``Mask2formerVideoMinVIS``, ``seg/models/detectors/mask2former_vid_minvis.py``).
Then every frame is post-processed with the video-level logits (``VideoFramePostprocessor``).

Memory: frames are read per tube from a ``FrameSource`` and backbone features are computed per
tube, so nothing of size T x (image) is held at once. The stride-4 mask logits of a tube are
either kept until the video-level logits are known (videos of at most ``max_cached_frames``
frames: one pass) or recomputed in a second pass (longer videos: memory independent of T).
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from seg.models.postprocess.video import VideoFramePostprocessor
from seg.utils.config_keys import frozen_dataclass_from_cfg
from .linking import match_embeddings, video_split

FrameSource = Union[Tensor, Callable[[int, int], Tensor]]


@dataclass(frozen=True)
class VideoInferenceConfig:
    """Video test settings (``model.video_cfg``); names and defaults as the reference.

    clip_size / clip_size_small: tube length for videos longer / not longer than
        ``small_clip_thr`` frames.
    whole_clip_thr: videos of at most this many frames run as one clip (0: always tubes).
    overlap: frames shared by consecutive tubes.
    max_cached_frames: videos up to this length keep tube masks between the two steps;
        longer ones recompute them (bounded memory).
    vos_on / num_proposals: VOS from the first frame's ``gt_instances``.
    """
    clip_size: int = 5
    clip_size_small: int = 3
    whole_clip_thr: int = 0
    small_clip_thr: int = 15
    overlap: int = 0
    max_cached_frames: int = 36
    vos_on: bool = False
    num_proposals: int = 25

    @classmethod
    def build(cls, cfg: Optional[dict]) -> 'VideoInferenceConfig':
        config = frozen_dataclass_from_cfg(cls, cfg, 'video_cfg')
        for name in ('clip_size', 'clip_size_small'):
            if getattr(config, name) <= config.overlap:
                raise ValueError(f'video_cfg.{name}={getattr(config, name)} must exceed '
                                 f'overlap={config.overlap}')
        return config

    def tubes(self, num_frames: int) -> List[Tuple[int, int]]:
        """(start, stop) of each tube."""
        if num_frames <= self.whole_clip_thr:
            return [(0, num_frames)]
        size = self.clip_size if num_frames > self.small_clip_thr else self.clip_size_small
        return video_split(num_frames, size, self.overlap)


class _LinkedTubes:
    """Running state of pass 1: permutations, summed logits, last embeddings."""

    def __init__(self):
        self.permutations: List[Tensor] = []
        self.cls_sum: Optional[Tensor] = None
        self.previous_embedding: Optional[Tensor] = None

    def add(self, cls_pred: Tensor, query_feat: Tensor) -> Tensor:
        if self.previous_embedding is None:
            permutation = torch.arange(cls_pred.shape[0], device=cls_pred.device)
            self.cls_sum = cls_pred.clone()
        else:
            permutation = match_embeddings(self.previous_embedding, query_feat)
            self.cls_sum += cls_pred[permutation]
        self.previous_embedding = query_feat[permutation]
        self.permutations.append(permutation)
        return permutation

    def mean(self) -> Tensor:
        return self.cls_sum / len(self.permutations)


class VideoInference:
    """Runs the network on videos, tube by tube.

    Args:
        extract_feat: frames (t, 3, H, W) -> backbone maps (the segmentor's ``extract_feat``).
        decoder: the ``OMGHead``; its text classifier gives the class space.
        postprocessor: ``QueryPostprocessor`` whose ``cfg`` switches the outputs.
        cfg: ``VideoInferenceConfig`` or its dict.
    """

    def __init__(self, extract_feat: Callable[[Tensor], List[Tensor]], decoder,
                 postprocessor, cfg: Union[VideoInferenceConfig, dict, None] = None) -> None:
        self.extract_feat = extract_feat
        self.decoder = decoder
        self.postprocessor = postprocessor
        self.cfg = cfg if isinstance(cfg, VideoInferenceConfig) else \
            VideoInferenceConfig.build(cfg)

    @torch.no_grad()
    def _tube_forward(self, frames: FrameSource, start: int, stop: int
                      ) -> Tuple[Tensor, Tensor, Tensor]:
        """Last-layer (Q, K+1) class logits with the objectness logit appended as column K+2
        (so both are linked and averaged together), (Q, t, h, w) stride-4 mask logits and
        (Q, C) embeddings."""
        clip = frames[start:stop] if isinstance(frames, Tensor) else frames(start, stop)
        if clip.dim() != 4 or clip.shape[0] != stop - start:
            raise ValueError(f'frames {start}:{stop} must be a ({stop - start}, 3, H, W) '
                             f'tensor, got {tuple(clip.shape)}')
        output = self.decoder(self.extract_feat(clip), num_frames=stop - start, inference=True)
        last = output.last
        logits = torch.cat([last.class_logits[0], last.objectness[0]], dim=-1)
        return logits, last.mask_logits[0], output.query_feat[0]

    @torch.no_grad()
    def run(self, frames: FrameSource, frame_samples: Sequence,
            on_frame: Callable[[int, Dict], None]) -> Dict[str, object]:
        """Segment a whole video; ``on_frame(t, outputs)`` receives each frame's results.

        Args:
            frames: normalised, padded frames: a (T, 3, H, W) tensor or a callable giving
                frames [start, stop) as such a tensor (read lazily, e.g. from disk).
            frame_samples: T frame data samples with ``img_shape``, ``ori_shape`` and
                ``batch_input_shape`` (the padded size) in their metainfo; for VOS the first
                one carries the given ``gt_instances``.
            on_frame: consumer of ``VideoFramePostprocessor.frame`` outputs, in frame order.
        Returns:
            dict with the video-level ``mask_cls`` (Q, K+1), ``objectness`` (Q, 1) and
            ``tracks`` (VIS track labels / scores / ids, or None).
        """
        num_frames = len(frame_samples)
        if num_frames == 0:
            raise ValueError('a video needs at least one frame')
        batch_input_shape = tuple(frame_samples[0].metainfo['batch_input_shape'])
        tubes = self.cfg.tubes(num_frames)
        cache = num_frames <= self.cfg.max_cached_frames
        linked, cached_masks = _LinkedTubes(), []
        for index, (start, stop) in enumerate(tubes):
            cls_pred, masks, query_feat = self._tube_forward(frames, start, stop)
            permutation = linked.add(cls_pred, query_feat)
            if cache:
                cached_masks.append(masks[permutation][:, self._first_new_frame(index):])
            del masks
        cls_mean = linked.mean()
        class_logits, objectness = cls_mean[:, :-1], cls_mean[:, -1:]
        post = VideoFramePostprocessor(
            self.postprocessor, self.decoder.text_classifier.num_things, class_logits,
            objectness, vos_on=self.cfg.vos_on, num_proposals=self.cfg.num_proposals)
        for index, (start, stop) in enumerate(tubes):
            first = self._first_new_frame(index)
            if cache:
                masks = cached_masks[index]
                cached_masks[index] = None
            else:
                masks = self._tube_forward(frames, start, stop)[1]
                masks = masks[linked.permutations[index]][:, first:]
            for offset in range(masks.shape[1]):
                t = start + first + offset
                logits = F.interpolate(masks[None, :, offset], size=batch_input_shape,
                                       mode='bilinear', align_corners=False)[0]
                on_frame(t, post.frame(logits, frame_samples[t]))
            del masks
        return dict(mask_cls=class_logits, objectness=objectness,
                    tracks=post.track_summary())

    def _first_new_frame(self, tube_index: int) -> int:
        return 0 if tube_index == 0 else self.cfg.overlap
