"""YouTube-VIS AP: spatio-temporal IoU, null / empty frames, average areas (by hand)."""
import numpy as np
import pytest

from seg.evaluation.functional import spatio_temporal_iou, video_gt_coco
from seg.evaluation.functional import youtube_vis_ap
from seg.evaluation.functional.video_ap import _average_area
from seg.structures.masks import masks_to_rles as encode_masks


def frame(y0, y1, x0, x1) -> dict:
    mask = np.zeros((1, 4, 4), bool)
    mask[0, y0:y1, x0:x1] = True
    return encode_masks(mask)[0]


EMPTY = encode_masks(np.zeros((1, 4, 4), bool))[0]


def test_spatio_temporal_iou_sums_over_frames():
    dt = [frame(0, 2, 0, 2), None, EMPTY]          # 4 px, absent, empty mask
    gt = [frame(0, 2, 1, 3), frame(2, 4, 2, 4), None]
    # frame 0: 2 shared of 6; frame 1: the GT's 4 px; frame 2: nothing -> 2 / 10
    assert spatio_temporal_iou([dt], [gt]) == pytest.approx(np.array([[0.2]]))
    assert spatio_temporal_iou([[None, EMPTY]], [[None, EMPTY]]).tolist() == [[0.0]]


def test_average_area_skips_absent_and_empty_frames():
    assert _average_area([0, None, 30, 10]) == 20
    assert _average_area([None, 0]) == 0


def _gt(num_frames=3):
    return video_gt_coco({
        'videos': [{'id': 1, 'height': 4, 'width': 4, 'length': num_frames}],
        'annotations': [{'id': 1, 'video_id': 1, 'category_id': 1, 'iscrowd': 0,
                         'segmentations': [frame(0, 2, 0, 2)] * num_frames,
                         'areas': [4] * num_frames}],
        'categories': [{'id': 1, 'name': 'x'}]}, 'gt')


@pytest.mark.parametrize('last_frame', [None, EMPTY])
def test_track_missing_one_frame_matches_up_to_iou_two_thirds(last_frame):
    track = {'video_id': 1, 'category_id': 1, 'score': 0.9,
             'segmentations': [frame(0, 2, 0, 2), frame(0, 2, 0, 2), last_frame]}
    stats = youtube_vis_ap(_gt(), [track])['stats']
    # IoU 8 / 12 passes the thresholds 0.50, 0.55, 0.60, 0.65: 4 of 10
    assert stats['AP'] == pytest.approx(0.4)
    assert stats['AP50'] == pytest.approx(1.0) and stats['AP75'] == 0.0
    assert stats['APs'] == pytest.approx(0.4)       # average area 4 < 128^2
    assert stats['APm'] == stats['APl'] == -1.0      # no medium / large track


def test_bad_tracks_are_named():
    with pytest.raises(ValueError, match='result #0: 2 frames for video 1 of 3 frames'):
        youtube_vis_ap(_gt(), [{'video_id': 1, 'category_id': 1, 'score': 1.0,
                                'segmentations': [None, None]}])
    with pytest.raises(KeyError, match='video_id 5 is not in the ground truth'):
        youtube_vis_ap(_gt(), [{'video_id': 5, 'category_id': 1, 'score': 1.0,
                                'segmentations': [None] * 3}])
