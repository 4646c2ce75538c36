"""Video pipeline steps: clip sampling, per-frame transforms, image-as-video, packing."""
import numpy as np
import pytest
import torch

from seg.datasets.transforms import (ClipTransform, FilterAnnotations, ImageToClip,
                                     PackVideoInputs, RandomCrop, RandomFlip, RandomResize,
                                     VideoClipSample)
from seg.structures import TrackSegDataSample


def video(num_frames):
    return dict(video_id=3, video_name='v', video_length=num_frames, ann_format='vipseg',
                frames=[dict(frame_id=t, img_path=f'v/{t}.jpg') for t in range(num_frames)])


def image_sample(height=40, width=60, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((2, height, width), np.uint8)
    masks[0, 5:15, 5:15] = 1
    masks[1, 20:40, 10:50] = 1
    return dict(img=rng.integers(0, 255, (height, width, 3), dtype=np.uint8),
                img_shape=(height, width), ori_shape=(height, width), img_id=12,
                img_path='image.jpg', gt_masks=masks, gt_labels=np.array([4, 1]),
                gt_seg_map=np.full((height, width), 2, np.int64))


def test_clip_sampling_takes_frames_interval_apart_or_all():
    np.random.seed(0)
    for _ in range(20):
        clip = VideoClipSample(num_frames=3, interval=2).transform(video(7))
        ids = clip['frame_ids']
        assert ids[1] - ids[0] == ids[2] - ids[1] == 2 and 0 <= ids[0] <= 2
        assert [frame['frame_id'] for frame in clip['frames']] == ids
        assert all(frame['video_name'] == 'v' and frame['ann_format'] == 'vipseg'
                   for frame in clip['frames'])
    assert VideoClipSample(num_frames=None).transform(video(4))['frame_ids'] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match='min_frames=3'):
        VideoClipSample(num_frames=2, interval=2).transform(video(2))


def test_shared_random_parameters_give_a_consistent_clip():
    np.random.seed(1)
    clip = ImageToClip(num_frames=3).transform(image_sample())
    steps = [RandomResize(scale=(60, 40), ratio_range=(0.5, 2.0)),
             RandomCrop(crop_size=(24, 24), allow_negative_crop=True), RandomFlip(prob=0.5)]
    clip = ClipTransform(steps, share_random_params=True).transform(clip)
    first = clip['frames'][0]
    for frame in clip['frames'][1:]:
        assert np.array_equal(frame['img'], first['img'])
        assert np.array_equal(frame['gt_masks'], first['gt_masks'])
        assert frame['flip'] == first['flip']


def test_image_as_video_shares_flip_and_resize_but_crops_independently():
    np.random.seed(2)
    clip = ImageToClip(num_frames=2).transform(image_sample())
    assert [frame['gt_instance_ids'].tolist() for frame in clip['frames']] == [[1, 2], [1, 2]]
    clip = ClipTransform([RandomFlip(prob=0.5), RandomResize(scale=(60, 40),
                                                             ratio_range=(1.5, 1.5))],
                         share_random_params=True).transform(clip)
    clip = ClipTransform([RandomCrop(crop_size=(30, 30), allow_negative_crop=True)],
                         share_random_params=False).transform(clip)
    frames = clip['frames']
    assert frames[0]['img'].shape == frames[1]['img'].shape == (30, 30, 3)
    assert frames[0]['flip'] == frames[1]['flip']
    assert not np.array_equal(frames[0]['img'], frames[1]['img'])
    for frame in frames:  # ids still name the same objects (their labels)
        labels = dict(zip(frame['gt_instance_ids'].tolist(), frame['gt_labels'].tolist()))
        assert all({1: 4, 2: 1}[key] == value for key, value in labels.items())


def test_instance_ids_follow_the_masks_a_transform_keeps():
    clip = ImageToClip(num_frames=1).transform(image_sample())
    clip['frames'][0]['gt_instance_ids'] = np.array([70, 80])
    clip = ClipTransform([FilterAnnotations(min_gt_mask_area=200)]).transform(clip)
    frame = clip['frames'][0]
    assert frame['gt_instance_ids'].tolist() == [80] and frame['gt_labels'].tolist() == [1]


def test_packing_builds_a_track_sample_with_instance_ids():
    clip = ImageToClip(num_frames=2).transform(image_sample())
    packed = PackVideoInputs().transform(clip)
    assert packed['inputs'].shape == (2, 3, 40, 60) and packed['inputs'].dtype == torch.uint8
    sample = packed['data_samples']
    assert isinstance(sample, TrackSegDataSample) and len(sample) == 2
    assert sample.metainfo['video_id'] == 12 and sample.metainfo['frame_ids'] == [0, 1]
    assert sample[1].gt_instances.instances_ids.tolist() == [1, 2]
    assert sample[1].frame_id == 1 and sample[0].gt_sem_seg.sem_seg.shape == (1, 40, 60)
    clip['frames'][1]['img'] = clip['frames'][1]['img'][:20]
    with pytest.raises(ValueError, match='frames of different sizes'):
        PackVideoInputs().transform(clip)
