"""VPQ windows and STQ on tiny hand-made videos."""
import numpy as np
import pytest

from seg.evaluation.functional import STQuality, VideoSegmentCounts, stq_for_categories
from seg.evaluation.functional.panoptic_quality import PanopticCategories

WALL, PERSON = 0, 1  # VIPSeg-style category ids: 0 stuff, 1 thing
CATEGORIES = PanopticCategories((PERSON, WALL), ('person', 'wall'), (True, False))


def gt_frame(ids: np.ndarray, categories: dict) -> list:
    return [{'id': i, 'category_id': c, 'iscrowd': 0, 'area': int((ids == i).sum())}
            for i, c in categories.items()]


def video(gt_maps, gt_categories, pred_maps, pred_categories) -> VideoSegmentCounts:
    gt_maps, pred_maps = np.array(gt_maps), np.array(pred_maps)
    gt_segments = [gt_frame(m, {i: c for i, c in gt_categories.items() if (m == i).any()})
                   for m in gt_maps]
    pred_segments = [[{'id': i, 'category_id': c} for i, c in pred_categories.items()
                      if (m == i).any()] for m in pred_maps]
    return VideoSegmentCounts(gt_segments, pred_segments, zip(gt_maps, pred_maps), CATEGORIES)


def person_stats(counts: VideoSegmentCounts, window: int) -> tuple:
    stat, num_windows = counts.window_stats(window)
    k = CATEGORIES.ids.index(PERSON)
    return int(stat.tp[k]), int(stat.fp[k]), int(stat.fn[k]), float(stat.iou[k]), num_windows


def test_identity_swap_is_right_per_frame_and_wrong_per_tube():
    frames = [[[1, 1, 2, 2]]] * 2                      # two persons, left and right
    swapped = [[[11, 11, 12, 12]], [[12, 12, 11, 11]]]  # the tracks swap in frame 1
    counts = video(frames, {1: PERSON, 2: PERSON}, swapped, {11: PERSON, 12: PERSON})
    assert person_stats(counts, 1) == (4, 0, 0, 4.0, 2)
    # 2-frame tubes: each GT tube shares 2 of 6 pixels with each predicted tube
    assert person_stats(counts, 2) == (0, 2, 2, 0.0, 1)


def test_object_detected_one_frame_late():
    gt = [[[0, 0, 0, 0]], [[0, 0, 1, 1]], [[0, 0, 1, 1]]]   # enters in frame 1
    pred = [[[0, 0, 0, 0]], [[0, 0, 0, 0]], [[0, 0, 7, 7]]]  # found in frame 2
    counts = video(gt, {1: PERSON}, pred, {7: PERSON})
    assert person_stats(counts, 1) == (1, 0, 1, 1.0, 3)
    # windows [0, 1]: a miss; [1, 2]: tube IoU 2 / 4 = 0.5 is not a match
    assert person_stats(counts, 2) == (0, 1, 2, 0.0, 2)
    assert person_stats(counts, 4) == (0, 0, 0, 0.0, 0)     # longer than the video


def test_stuff_tube_with_void():
    gt = [[[5, 5, 5, 0]], [[5, 5, 5, 5]]]      # GT void in frame 0
    pred = [[[6, 6, 6, 6]], [[6, 6, 6, 0]]]    # predicted void in frame 1
    counts = video(gt, {5: WALL}, pred, {6: WALL})
    stat, _ = counts.window_stats(2)
    k = CATEGORIES.ids.index(WALL)
    # tube areas: GT 7, prediction 7 of which 1 on GT void; intersection 6
    assert stat.tp[k] == 1 and stat.iou[k] == pytest.approx(6 / (7 + 7 - 6 - 1))


def test_malformed_video_segments_are_named():
    with pytest.raises(ValueError, match='frame 1: segment 1 changes category'):
        VideoSegmentCounts([gt_frame(np.array([1]), {1: PERSON}),
                            gt_frame(np.array([1]), {1: WALL})], [[], []],
                           zip(np.ones((2, 1, 1), int), np.zeros((2, 1, 1), int)), CATEGORIES)
    with pytest.raises(KeyError, match=r"frame 1 \(prediction\).*\[3\] present in the PNG but "
                                       "not listed in this frame's json"):
        VideoSegmentCounts([[], []], [[{'id': 3, 'category_id': PERSON}], []],
                           zip(np.zeros((2, 1, 2), int), np.array([[[3, 3]], [[3, 3]]])),
                           CATEGORIES)


def encode(semantic, instance):
    return (np.array(semantic) << 16) + np.array(instance)


def test_stq_association_and_predicted_void_class():
    stq = STQuality(num_classes=2, things=[1], ignore_label=255)
    gt = encode([1, 1, 1, 1], [1, 1, 2, 2])  # two person tubes, both frames
    stq.update(gt, encode([1, 1, 1, 1], [1, 1, 2, 2]), 'seq')
    stq.update(gt, encode([255, 1, 1, 1], [255, 2, 1, 1]), 'seq')  # swap + one void pixel
    result = stq.result()
    # tube 1: 2*2/6 + 1*1/6 over 4 px; tube 2: 2*2/5 + 2*2/6 over 4 px
    aq = ((2 * 2 / 6 + 1 / 6) / 4 + (2 * 2 / 5 + 2 * 2 / 6) / 4) / 2
    assert result['AQ'] == pytest.approx(aq)
    # person IoU 7/8; the predicted void column is a class of its own with IoU 0
    assert result['IoU'] == pytest.approx((7 / 8 + 0) / 2)
    assert result['STQ'] == pytest.approx(np.sqrt(aq * 7 / 16))
    assert result['Length_per_seq'] == [2]


def test_stq_ignores_crowd_and_predictions_on_it():
    stq = STQuality(num_classes=2, things=[1])
    stq.update(encode([1, 1, 1, 1], [0, 0, 3, 3]), encode([1, 1, 1, 1], [1, 2, 3, 3]))
    assert stq.result()['AQ'] == pytest.approx(1.0)  # only the non-crowd tube counts


def test_vipseg_thing_listed_first_is_crowd_for_stq():
    # The official script numbers segments by first appearance from 0, so a thing listed
    # first gets instance 0, i.e. crowd; its split prediction is then not penalised.
    counts = video([[[1, 1, 2, 2]]], {1: PERSON, 2: PERSON}, [[[11, 13, 12, 12]]],
                   {11: PERSON, 13: PERSON, 12: PERSON})
    stq = stq_for_categories(CATEGORIES)
    counts.update_stq(stq, 'vid')
    assert stq.result()['AQ'] == pytest.approx(1.0)
    listed_second = VideoSegmentCounts(
        [[{'id': 5, 'category_id': WALL, 'iscrowd': 0, 'area': 0}] +
         gt_frame(np.array([1, 1, 2, 2]), {1: PERSON, 2: PERSON})],
        [[{'id': i, 'category_id': PERSON} for i in (11, 13, 12)]],
        [(np.array([[1, 1, 2, 2]]), np.array([[11, 13, 12, 12]]))], CATEGORIES)
    stq = stq_for_categories(CATEGORIES)
    listed_second.update_stq(stq, 'vid')
    assert stq.result()['AQ'] == pytest.approx((0.5 + 1.0) / 2)


def test_stq_merge_equals_single_accumulator():
    frames = [(encode([1, 1, 0, 0], [1, 1, 0, 0]), encode([1, 1, 1, 0], [4, 4, 4, 0]))] * 2
    whole, part_a, part_b = (STQuality(2, [1]) for _ in range(3))
    for seq, (gt, pred) in zip(('a', 'b'), frames):
        whole.update(gt, pred, seq)
    part_a.update(*frames[0], 'a')
    part_b.update(*frames[1], 'b')
    part_a.merge(part_b)
    assert part_a.result() == whole.result()
