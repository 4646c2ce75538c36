"""The per-clip (or per-video) data sample: one ``SegDataSample`` per frame plus video fields."""
from typing import Iterator, List, Sequence

from mmengine.structures import BaseDataElement, InstanceData

from .seg_data_sample import SegDataSample


class TrackSegDataSample(BaseDataElement):
    """Frames of one clip or video, as mmdet's ``TrackDataSample``.

    Data fields:
        video_data_samples: list of ``SegDataSample``, one per frame, in time order. Frame
            samples carry ``gt_instances`` (``labels``, ``masks`` (N, H, W) and
            ``instances_ids`` (N,): one id per object, constant over the video),
            ``gt_sem_seg`` and, after prediction, ``pred_panoptic_seg`` (instance ids stable
            over the video), ``pred_sem_seg``, ``pred_instances`` (per-frame masks of the
            video tracks, with ``instances_id``) and ``pred_vos_seg`` (``PixelData``,
            (1, H, W) int32 ids of the first-frame objects, 0 = background).
        pred_track_instances: ``InstanceData`` of the video tracks: ``masks`` (n, T, H, W)
            bool, ``labels`` (n,), ``scores`` (n,) and ``instances_id`` (n,).

    Metainfo (set by the video datasets): ``video_id``, ``video_name``, ``video_length`` and
    ``frame_ids`` (indices of the clip's frames in the video).
    """

    @property
    def video_data_samples(self) -> List[SegDataSample]:
        return self._video_data_samples

    @video_data_samples.setter
    def video_data_samples(self, value: Sequence[SegDataSample]) -> None:
        value = list(value)
        for index, frame in enumerate(value):
            if not isinstance(frame, SegDataSample):
                raise TypeError(f'video_data_samples[{index}] must be a SegDataSample, got '
                                f'{type(frame).__name__}')
        self.set_field(value, '_video_data_samples', dtype=list)

    @video_data_samples.deleter
    def video_data_samples(self) -> None:
        del self._video_data_samples

    @property
    def pred_track_instances(self) -> InstanceData:
        return self._pred_track_instances

    @pred_track_instances.setter
    def pred_track_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_pred_track_instances', dtype=InstanceData)

    @pred_track_instances.deleter
    def pred_track_instances(self) -> None:
        del self._pred_track_instances

    def __len__(self) -> int:
        return len(self.video_data_samples) if 'video_data_samples' in self else 0

    def __getitem__(self, index: int) -> SegDataSample:
        if not isinstance(index, int):
            raise TypeError(f'TrackSegDataSample is indexed by frame number, got {index!r}')
        return self.video_data_samples[index]

    def __iter__(self) -> Iterator[SegDataSample]:
        return iter(self.video_data_samples if 'video_data_samples' in self else [])

    def to_dict(self) -> dict:
        """Plain dict (metrics read it): frame samples become dicts too."""
        result = super().to_dict()
        if 'video_data_samples' in result:
            result['video_data_samples'] = [frame.to_dict() for frame in self.video_data_samples]
        return result


def is_clip_batch(data_samples) -> bool:
    """Whether a batch holds clips (``TrackSegDataSample``) rather than images.

    A batch mixing clips and images raises ``TypeError``: frames are folded into the batch, so
    every sample of a batch must be of one kind.
    """
    if not data_samples:
        return False
    kinds = {isinstance(sample, TrackSegDataSample) for sample in data_samples}
    if len(kinds) > 1:
        raise TypeError('a batch mixes clips (TrackSegDataSample) and images; batch them '
                        'separately (e.g. one sample per GPU, as the reference)')
    return kinds.pop()
