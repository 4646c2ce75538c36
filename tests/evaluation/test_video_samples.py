"""The video metrics fed with video model outputs (TrackSegDataSample dicts)."""
import json
import zipfile

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from seg.evaluation.metrics import (DAVISMetric, VideoSemSegMetric, VIPSegMetric,
                                    YouTubeVISMetric)
from seg.evaluation.metrics.video_samples import davis_fields, vipseg_fields
from seg.structures import SegDataSample, TrackSegDataSample
from seg.utils.constants import INSTANCE_OFFSET, VOID_LABEL

# Classes: 0 ball (thing, json id 7), 1 sky (stuff, json id 3); K = 2.
META = dict(classes=('ball', 'sky'), thing_classes=('ball',), stuff_classes=('sky',),
            category_ids=(7, 3), num_things_classes=1, num_stuff_classes=1)
SIZE = (6, 8)


def ball_mask(t):
    mask = torch.zeros(SIZE, dtype=torch.bool)
    mask[1:4, t:t + 3] = True
    return mask


def video_sample(num_frames=4, shift_prediction=0, second_object_from=None):
    """A ball moving right over the sky; prediction = GT moved by `shift_prediction`."""
    frames = []
    for t in range(num_frames):
        frame = SegDataSample(metainfo=dict(ori_shape=SIZE))
        masks, ids = [ball_mask(t)], [41]
        if second_object_from is not None and t >= second_object_from:
            late = torch.zeros(SIZE, dtype=torch.bool)
            late[5, :2] = True
            masks.append(late)
            ids.append(50)
        semantic = torch.ones((1,) + SIZE, dtype=torch.long)
        semantic[0, 0, 0] = VOID_LABEL
        for mask in masks:
            semantic[0][mask] = 0
        frame.gt_instances = InstanceData(labels=torch.zeros(len(ids), dtype=torch.long),
                                          masks=torch.stack(masks),
                                          instances_ids=torch.tensor(ids))
        frame.gt_sem_seg = PixelData(sem_seg=semantic)
        predicted = ball_mask(t + shift_prediction)
        panoptic = torch.full(SIZE, 1, dtype=torch.int32)  # sky
        panoptic[predicted] = 0 + 3 * INSTANCE_OFFSET  # the ball, video-level id 3
        frame.pred_panoptic_seg = PixelData(sem_seg=panoptic[None])
        vos = torch.zeros(SIZE, dtype=torch.int32)
        vos[predicted] = 41
        frame.pred_vos_seg = PixelData(sem_seg=vos[None])
        frames.append(frame)
    sample = TrackSegDataSample(metainfo=dict(video_id=5, video_name='v5'))
    sample.video_data_samples = frames
    return sample


def test_vipseg_fields_number_segments_per_video():
    fields = vipseg_fields(video_sample().to_dict(), META)
    assert fields['gt_panoptic'].shape == fields['pred_panoptic'].shape == (4,) + SIZE
    gt_ball = 0 + 1 + 1 * INSTANCE_OFFSET  # label + 1 + rank of instance 41 * offset
    assert set(np.unique(fields['gt_panoptic'][0]).tolist()) == {0, 2, gt_ball}
    assert fields['gt_segments_info'][0] == [
        {'id': 2, 'category_id': 3, 'iscrowd': 0, 'area': 47 - 9},
        {'id': gt_ball, 'category_id': 7, 'iscrowd': 0, 'area': 9}]
    assert [s['id'] for s in fields['pred_segments_info'][2]] == [2, 3 * INSTANCE_OFFSET + 1]
    already = dict(fields)
    assert vipseg_fields(already, META) is already


def test_vipseg_metric_scores_video_model_outputs():
    metric = VIPSegMetric(windows=(1, 2))
    metric.dataset_meta = META
    metric.process({}, [video_sample().to_dict()])
    perfect = metric.compute_metrics(metric.results)
    assert perfect['VPQ'] == pytest.approx(1.0) and perfect['STQ'] == pytest.approx(1.0)
    metric = VIPSegMetric(windows=(1, 2))
    metric.dataset_meta = META
    metric.process({}, [video_sample(shift_prediction=2).to_dict()])
    assert metric.compute_metrics(metric.results)['VPQ_th'] < 0.5


def test_davis_metric_scores_first_frame_objects_only():
    sample = video_sample(second_object_from=1)
    fields = davis_fields(sample.to_dict())
    assert fields['sequence'] == 'v5'
    assert set(np.unique(fields['gt_masks']).tolist()) == {0, 1}  # object 50 came later
    metric = DAVISMetric()
    metric.process({}, [sample.to_dict()])
    assert metric.compute_metrics(metric.results)['J&F-Mean'] == pytest.approx(1.0)


def test_youtube_vis_results_and_submission_zip(tmp_path):
    gt = dict(videos=[dict(id=5, width=SIZE[1], height=SIZE[0], length=2)],
              categories=[dict(id=7, name='ball')], annotations=[])
    (tmp_path / 'gt.json').write_text(json.dumps(gt))
    metric = YouTubeVISMetric(ann_file=str(tmp_path / 'gt.json'),
                              outfile_prefix=str(tmp_path / 'out'))
    metric.dataset_meta = META
    sample = TrackSegDataSample(metainfo=dict(video_id=5))
    sample.pred_track_instances = InstanceData(
        masks=torch.stack([ball_mask(0), ball_mask(1)])[None], labels=torch.tensor([0]),
        scores=torch.tensor([0.9]), instances_id=torch.tensor([1]))
    metric.process({}, [sample.to_dict()])
    metric.compute_metrics(metric.results)
    with zipfile.ZipFile(tmp_path / 'out.submission_file.zip') as archive:
        assert archive.namelist() == ['results.json']
        (track,) = json.loads(archive.read('results.json'))
    assert (track['video_id'], track['category_id'], len(track['segmentations'])) == (5, 7, 2)


def test_vss_miou_sums_the_frames_of_each_video():
    sample = video_sample()
    for t, frame in enumerate(sample):
        semantic = frame.gt_sem_seg.sem_seg.clone()
        if t == 3:
            semantic[semantic == 0] = 1  # the prediction misses the ball in the last frame
        frame.pred_sem_seg = PixelData(sem_seg=torch.where(semantic == VOID_LABEL, 1,
                                                           semantic))
        # Targets padded with the image by the data preprocessor are cropped back.
        padded = torch.full((1, 8, 8), VOID_LABEL)
        padded[:, :SIZE[0], :SIZE[1]] = frame.gt_sem_seg.sem_seg
        frame.gt_sem_seg = PixelData(sem_seg=padded)
    metric = VideoSemSegMetric()
    metric.dataset_meta = META
    metric.process({}, [sample.to_dict()])
    assert len(metric.results) == 1
    result = metric.compute_metrics(metric.results)
    ball_iou = 27 / 36  # 3 of 4 frames found
    sky_iou = (4 * 38) / (4 * 38 + 9)
    assert result['mIoU'] == pytest.approx((ball_iou + sky_iou) / 2)
