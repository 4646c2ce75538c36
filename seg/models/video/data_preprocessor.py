"""Batch preparation for clips: frames are normalised and padded like images."""
from typing import List

from seg.registry import MODELS
from seg.structures import is_clip_batch
from ..data_preprocessor import SegDataPreprocessor


@MODELS.register_module()
class VideoSegDataPreprocessor(SegDataPreprocessor):
    """``SegDataPreprocessor`` that also takes clip batches.

    Image batches are handled exactly as by the parent. A clip batch (inputs: list of
    (T, 3, H, W) tensors, data samples: ``TrackSegDataSample``) is processed frame by frame
    (every frame sample gets ``batch_input_shape`` / ``pad_shape`` and padded targets) and
    returned as a (B, T, 3, Hp, Wp) tensor; all clips of a batch need the same T.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        samples = data.get('data_samples')
        if not is_clip_batch(samples):
            return super().forward(data, training)
        clips: List = list(data['inputs'])
        if len(clips) != len(samples):
            raise ValueError(f'{len(clips)} clips but {len(samples)} data samples')
        lengths = {int(clip.shape[0]) for clip in clips}
        for index, (clip, sample) in enumerate(zip(clips, samples)):
            if clip.dim() != 4 or clip.shape[1] != 3:
                raise ValueError(f'clip {index} of the batch must be (T, 3, H, W), got '
                                 f'{tuple(clip.shape)}')
            if len(sample) != clip.shape[0]:
                raise ValueError(f'clip {index} has {clip.shape[0]} frames but '
                                 f'{len(sample)} frame samples')
        if len(lengths) != 1:
            raise ValueError(f'clips of one batch must have the same number of frames, got '
                             f'{sorted(lengths)}')
        frames = [frame for clip in clips for frame in clip]
        frame_samples = [frame for sample in samples for frame in sample]
        flat = super().forward(dict(inputs=frames, data_samples=frame_samples), training)
        num_frames = lengths.pop()
        batch = flat['inputs'].unflatten(0, (len(clips), num_frames))
        # The parent returns new (device-cast) frame samples: put them into the clips.
        processed = flat['data_samples']
        for index, sample in enumerate(samples):
            sample.video_data_samples = processed[index * num_frames:(index + 1) * num_frames]
        return dict(inputs=batch, data_samples=samples)
