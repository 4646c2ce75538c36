"""Video clips (``TrackSegDataSample``): tube queries over the frames of a clip.

Inputs are (B, T, 3, H, W); frames are folded into the batch for the backbone and the pixel
decoder and the decoder predicts one tube per query (upstream ``Mask2formerVideo`` in
``seg/models/detectors/mask2former_vid.py``). Prediction runs ``VideoInference``: whole clip or
online tubes linked by query embeddings (MinVIS), memory bounded by the tube length.
"""
from typing import Callable, Dict, List, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from seg.models.heads import DecoderOutput, video_panoptic_targets
from seg.models.postprocess.video import frame_results_to_sample
from seg.models.video.inference import FrameSource, VideoInference, VideoInferenceConfig


def check_clip_inputs(inputs: Tensor, data_samples: Sequence) -> None:
    if inputs.dim() != 5 or inputs.shape[2] != 3:
        raise ValueError(f'clip inputs must be (B, T, 3, H, W), got {tuple(inputs.shape)}')
    for index, sample in enumerate(data_samples or ()):
        if len(sample) != inputs.shape[1]:
            raise ValueError(f'clip {index} has {len(sample)} frame samples for '
                             f'{inputs.shape[1]} frames')


class ClipTask:
    """Loss and prediction of clip batches.

    Args:
        extract_feat: frames (N, 3, H, W) -> backbone maps.
        decoder: the ``OMGHead``.
        criterion: ``SetCriterion`` (tubes are matched as (T*h, w) maps).
        postprocessor: ``QueryPostprocessor`` applied frame by frame.
        video_cfg: :class:`VideoInferenceConfig` (a callable returning it: the segmentor's
            settings can change between calls, see ``OMGSegmentor.inference_settings``).
    """

    def __init__(self, extract_feat: Callable[[Tensor], List[Tensor]], decoder, criterion,
                 postprocessor, video_cfg: Callable[[], VideoInferenceConfig]) -> None:
        self.extract_feat = extract_feat
        self.decoder = decoder
        self.criterion = criterion
        self.postprocessor = postprocessor
        self.video_cfg = video_cfg

    def tensor(self, inputs: Tensor, data_samples=None) -> DecoderOutput:
        """Every prediction with tube mask logits (B, Q, T, H/4, W/4)."""
        check_clip_inputs(inputs, data_samples)
        return self.decoder(self.extract_feat(inputs.flatten(0, 1)), num_frames=inputs.shape[1])

    def loss(self, inputs: Tensor, data_samples: Sequence) -> Dict[str, Tensor]:
        """Tube matching and losses; every clip of the batch has the same number of frames."""
        check_clip_inputs(inputs, data_samples)
        classifier = self.decoder.text_classifier
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
                labels, masks, ids, sem_segs, classifier.num_things, classifier.num_stuff)
            # (M, T, H, W) -> (M, T*H, W): the layout of tube mask logits flattened alike.
            targets.append(dict(labels=tube_labels.to(inputs.device),
                                masks=tube_masks.to(inputs.device).flatten(1, 2)))
        output = self.tensor(inputs)
        return self.criterion(output.predictions, targets)

    def video_inference(self) -> VideoInference:
        return VideoInference(self.extract_feat, self.decoder, self.postprocessor,
                              self.video_cfg())

    @torch.no_grad()
    def run_video(self, frames: FrameSource, frame_samples: Sequence,
                  on_frame: Callable[[int, Dict], None],
                  video_cfg: VideoInferenceConfig = None) -> Dict[str, object]:
        """Segment one video read lazily from ``frames`` (see ``VideoInference.run``)."""
        inference = self.video_inference() if video_cfg is None else VideoInference(
            self.extract_feat, self.decoder, self.postprocessor, video_cfg)
        return inference.run(frames, frame_samples, on_frame)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence, rescale: bool = True) -> List:
        """Video inference per clip; results go into the frame samples and
        ``pred_track_instances``."""
        check_clip_inputs(inputs, data_samples)
        inference = self.video_inference()
        for clip, sample in zip(inputs, data_samples):
            frames = list(sample)
            track_masks = []

            def store(t, outputs, frames=frames, track_masks=track_masks):
                frame_results_to_sample(frames[t], outputs)
                if 'instances' in outputs:
                    track_masks.append(outputs['instances'].masks.cpu())

            tracks = inference.run(clip, frames, store)['tracks']
            if tracks is not None:
                masks = torch.stack(track_masks, dim=1) if track_masks else None
                sample.pred_track_instances = InstanceData(
                    masks=masks, labels=tracks['labels'].cpu(), scores=tracks['scores'].cpu(),
                    instances_id=tracks['instances_id'].cpu())
        return list(data_samples)
