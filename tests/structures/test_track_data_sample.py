"""TrackSegDataSample: frame access, conversion for metrics, batch-kind detection."""
import pytest
import torch
from mmengine.structures import InstanceData

from seg.structures import SegDataSample, TrackSegDataSample, is_clip_batch


def make_clip(num_frames=3):
    clip = TrackSegDataSample(metainfo=dict(video_id=7))
    clip.video_data_samples = [SegDataSample(metainfo=dict(frame_id=t))
                               for t in range(num_frames)]
    return clip


def test_frames_are_indexed_and_iterated_in_order():
    clip = make_clip()
    assert len(clip) == 3
    assert clip[2].frame_id == 2
    assert [frame.frame_id for frame in clip] == [0, 1, 2]
    with pytest.raises(TypeError, match='frame number'):
        clip['0']


def test_to_dict_converts_the_frames_and_track_predictions():
    clip = make_clip(2)
    clip.pred_track_instances = InstanceData(labels=torch.tensor([1]))
    result = clip.to_dict()
    assert result['video_id'] == 7
    assert result['video_data_samples'] == [{'frame_id': 0}, {'frame_id': 1}]
    assert torch.equal(result['pred_track_instances']['labels'], torch.tensor([1]))


def test_frames_must_be_seg_data_samples():
    with pytest.raises(TypeError, match='video_data_samples\\[1\\]'):
        TrackSegDataSample().video_data_samples = [SegDataSample(), {'frame_id': 1}]


def test_batch_kind_detection_refuses_mixed_batches():
    assert is_clip_batch([make_clip()])
    assert not is_clip_batch([SegDataSample()])
    assert not is_clip_batch(None)
    with pytest.raises(TypeError, match='mixes clips'):
        is_clip_batch([make_clip(), SegDataSample()])
