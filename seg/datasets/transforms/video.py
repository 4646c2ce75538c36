"""Video pipeline steps: clip sampling, per-frame transforms, image-as-video, packing.

A video sample is ``dict(<video keys>, frames=[<frame results>, ...])``; each frame dict goes
through the ordinary image transforms (``ClipTransform``), so loading, resizing, cropping and
flipping are written once. Instance ids (``gt_instance_ids``) follow their masks through every
transform, so objects can be matched across frames (the reference groups them into tubes by
id, ``preprocess_video_panoptic_gt`` in ``seg/models/utils/video_gt_preprocess.py``).
"""
import copy
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from seg.registry import TRANSFORMS
from seg.structures import TrackSegDataSample
from ..davis import load_davis_frame
from ..vipseg import load_vipseg_frame
from ..youtube_vis import load_ytvis_frame
from .base import BaseTransform
from .formatting import DEFAULT_META_KEYS, PackSegInputs

FRAME_LOADERS: Dict[str, Callable[[dict], dict]] = {
    'ytvis': load_ytvis_frame, 'vipseg': load_vipseg_frame, 'davis': load_davis_frame}
FRAME_META_KEYS = DEFAULT_META_KEYS + ('frame_id', 'video_id')
VIDEO_META_KEYS = ('video_id', 'video_name', 'video_length', 'frame_ids', 'sequence')


def _frames_of(results: dict, step: str) -> List[dict]:
    if 'frames' not in results:
        raise KeyError(f'{step} needs a video sample with "frames" (start the pipeline with '
                       f'VideoClipSample or ImageToClip), got keys {sorted(results)}')
    return results['frames']


@TRANSFORMS.register_module()
class VideoClipSample(BaseTransform):
    """Pick the frames of a clip: ``num_frames`` frames ``interval`` apart from a uniformly
    random start (training), or every frame in order (``num_frames=None``, testing).

    Each chosen frame becomes a dict of the video's keys plus the frame's own; ``frame_ids``
    lists the chosen indices. A video shorter than the clip span raises ``ValueError`` (filter
    such videos with the dataset's ``filter_cfg=dict(min_frames=...)``).
    """

    def __init__(self, num_frames: Optional[int] = 2, interval: int = 2) -> None:
        if num_frames is not None and num_frames < 1:
            raise ValueError(f'num_frames must be positive or None, got {num_frames}')
        if interval < 1:
            raise ValueError(f'interval must be positive, got {interval}')
        self.num_frames = num_frames
        self.interval = interval

    def transform(self, results: dict) -> dict:
        frames = _frames_of(results, 'VideoClipSample')
        length = len(frames)
        if self.num_frames is None:
            indices = list(range(length))
        else:
            span = (self.num_frames - 1) * self.interval + 1
            if length < span:
                raise ValueError(
                    f'video {results.get("video_name")!r} has {length} frames; a clip of '
                    f'{self.num_frames} frames every {self.interval} needs {span} (set '
                    f'filter_cfg=dict(min_frames={span}) on the training dataset)')
            start = np.random.randint(0, length - span + 1)
            indices = [start + self.interval * k for k in range(self.num_frames)]
        video_keys = {key: value for key, value in results.items() if key != 'frames'}
        results['frames'] = [dict(video_keys, **frames[index]) for index in indices]
        results['frame_ids'] = indices
        return results


@TRANSFORMS.register_module()
class LoadVideoAnnotations(BaseTransform):
    """Decode one frame's annotations by the dataset's ``ann_format`` (ytvis / vipseg /
    davis): ``gt_masks`` (N, H, W) uint8, ``gt_labels`` (N,), ``gt_instance_ids`` (N,) and, for
    panoptic data, ``gt_seg_map`` (H, W) (void = ``VOID_LABEL``). Use inside ``ClipTransform``.

    Args:
        with_seg: keep ``gt_seg_map`` (panoptic data); False drops it.
    """

    def __init__(self, with_seg: bool = True) -> None:
        self.with_seg = with_seg

    def transform(self, results: dict) -> dict:
        ann_format = results.get('ann_format')
        if ann_format not in FRAME_LOADERS:
            raise KeyError(f'LoadVideoAnnotations: unknown ann_format {ann_format!r} for '
                           f'{results.get("img_path")}; known: {sorted(FRAME_LOADERS)}')
        results = FRAME_LOADERS[ann_format](results)
        if not self.with_seg:
            results.pop('gt_seg_map', None)
        return results


def _apply_keeping_ids(step: Callable[[dict], Optional[dict]], frame: dict) -> Optional[dict]:
    """Run an image transform on a frame; instance ids follow the masks it keeps.

    The transforms drop instances by filtering ``gt_labels`` with ``gt_masks``; running them on
    row indices instead of labels tells which rows survived.
    """
    if 'gt_instance_ids' not in frame or 'gt_labels' not in frame:
        return step(frame)
    labels, ids = np.asarray(frame['gt_labels']), np.asarray(frame['gt_instance_ids'])
    if len(labels) != len(ids):
        raise ValueError(f'{frame.get("img_path")}: {len(labels)} labels but {len(ids)} '
                         'instance ids')
    frame['gt_labels'] = np.arange(len(labels))
    frame = step(frame)
    if frame is None:
        return None
    kept = np.asarray(frame['gt_labels'], np.int64)
    frame['gt_labels'], frame['gt_instance_ids'] = labels[kept], ids[kept]
    return frame


@TRANSFORMS.register_module()
class ClipTransform(BaseTransform):
    """Apply image transforms to every frame of a clip (mmcv's ``TransformBroadcaster``).

    Args:
        transforms: image transform configs (or callables), run in order on each frame.
        share_random_params: every frame draws the same random numbers (same resize ratio,
            crop window and flip: a consistent clip); False draws independently per frame
            (e.g. the independent crops of image-as-video).

    A frame rejected by a transform (``None``) rejects the clip. Transforms may drop
    instances but must not relabel them.
    """

    def __init__(self, transforms: Sequence[Union[dict, Callable]],
                 share_random_params: bool = True) -> None:
        self.transforms = [TRANSFORMS.build(step) if isinstance(step, dict) else step
                           for step in transforms]
        self.share_random_params = share_random_params

    def transform(self, results: dict) -> Optional[dict]:
        frames = _frames_of(results, 'ClipTransform')
        state = np.random.get_state() if self.share_random_params else None
        processed = []
        for frame in frames:
            if state is not None:
                np.random.set_state(state)
            for step in self.transforms:
                frame = _apply_keeping_ids(step, frame)
                if frame is None:
                    return None
            processed.append(frame)
        results['frames'] = processed
        return results


@TRANSFORMS.register_module()
class ImageToClip(BaseTransform):
    """Image-as-video: copy a loaded image sample into a clip of ``num_frames`` frames.

    Every thing instance gets an id (1, 2, ...), the same in every copy. Follow it with
    ``ClipTransform(share_random_params=True)`` for the shared flip / resize and
    ``ClipTransform(share_random_params=False)`` for independent crops (as the reference's
    ``ImageCopy`` pipeline, ``seg/configs/_base_/datasets/coco_panoptic_video_lsj.py``).
    """

    def __init__(self, num_frames: int = 2) -> None:
        if num_frames < 1:
            raise ValueError(f'num_frames must be positive, got {num_frames}')
        self.num_frames = num_frames

    def transform(self, results: dict) -> dict:
        if 'frames' in results:
            raise ValueError('ImageToClip got a video sample; it turns an image into a clip')
        if 'gt_labels' in results:
            results['gt_instance_ids'] = np.arange(1, len(results['gt_labels']) + 1)
        frames = []
        for index in range(self.num_frames):
            frame = copy.deepcopy(results)
            frame['frame_id'] = index
            frames.append(frame)
        return dict(video_id=results.get('img_id'), video_name=results.get('img_path'),
                    video_length=self.num_frames, frame_ids=list(range(self.num_frames)),
                    frames=frames)


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Pack a clip as ``dict(inputs=(T, 3, H, W) tensor, data_samples=TrackSegDataSample)``.

    Each frame is packed by ``PackSegInputs`` (its ``gt_instances`` gain ``instances_ids``);
    the clip sample gets ``video_meta_keys`` found in the results as metainfo. Frames of a
    clip must have the same size.
    """

    def __init__(self, meta_keys: Sequence[str] = FRAME_META_KEYS,
                 video_meta_keys: Sequence[str] = VIDEO_META_KEYS) -> None:
        self.frame_packer = PackSegInputs(meta_keys)
        self.video_meta_keys = tuple(video_meta_keys)

    def transform(self, results: dict) -> dict:
        frames = _frames_of(results, 'PackVideoInputs')
        if not frames:
            raise ValueError(f'video {results.get("video_name")!r}: no frame to pack')
        inputs, samples = [], []
        for frame in frames:
            packed = self.frame_packer.transform(frame)
            if 'gt_instance_ids' in frame:
                packed['data_samples'].gt_instances.instances_ids = torch.from_numpy(
                    np.asarray(frame['gt_instance_ids'], np.int64))
            inputs.append(packed['inputs'])
            samples.append(packed['data_samples'])
        sizes = {tuple(image.shape) for image in inputs}
        if len(sizes) != 1:
            raise ValueError(f'video {results.get("video_name")!r}: frames of different sizes '
                             f'{sorted(sizes)} cannot form one clip')
        clip = TrackSegDataSample(metainfo={key: results[key] for key in self.video_meta_keys
                                            if key in results})
        clip.video_data_samples = samples
        return dict(inputs=torch.stack(inputs), data_samples=clip)
