"""DAVIS J / F rules on hand-made masks."""
import numpy as np
import pytest

from seg.evaluation.functional import (boundary_f_measure, db_statistics, evaluate_sequence,
                                       region_iou)


def half_plane(rows: int, shape=(50, 50)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[:rows] = True
    return mask


def test_region_iou_is_one_for_two_empty_masks():
    pred = np.stack([half_plane(10), np.zeros((50, 50), bool)])
    gt = np.stack([half_plane(20), np.zeros((50, 50), bool)])
    assert region_iou(pred, gt).tolist() == [0.5, 1.0]


@pytest.mark.parametrize('shape,shift,expected', [
    ((50, 50), 1, 1.0), ((50, 50), 2, 0.0),      # ceil(0.008 * 70.7) = 1 px tolerance
    ((96, 128), 2, 1.0), ((96, 128), 3, 0.0)])   # ceil(0.008 * 160) = 2 px tolerance
def test_boundary_tolerance_scales_with_the_diagonal(shape, shift, expected):
    assert boundary_f_measure(half_plane(25 + shift, shape), half_plane(25, shape)) == expected


def test_boundary_of_empty_masks():
    empty = np.zeros((50, 50), bool)
    assert boundary_f_measure(empty, empty) == 1.0
    assert boundary_f_measure(empty, half_plane(25)) == 0.0
    assert boundary_f_measure(half_plane(25), empty) == 0.0


def test_statistics_mean_recall_decay():
    mean, recall, decay = db_statistics(np.array([1.0, 1.0, 0.0, 0.0]))
    # quarters of 4 frames: [0, 1], [1], [1, 2], [2, 3] -> decay = 1 - 0
    assert (mean, recall, decay) == (0.5, 0.5, 1.0)


def test_sequence_skips_first_and_last_frames_and_voids_become_background():
    gt = np.zeros((3, 50, 50), np.uint8)
    gt[:, :10] = 1                     # object 1 in every frame
    gt[1, 10:20] = 255                 # void below it in the scored frame
    pred = np.zeros_like(gt)
    pred[1, :20] = 1                   # covers the object and the void
    (j, f), = evaluate_sequence(gt, pred).values()
    assert j.tolist() == [0.5]         # frames 0 and 2 are not scored; void is background
    assert f.tolist() == [0.0]         # boundaries 10 rows apart


def test_prediction_with_unknown_object_is_an_error():
    gt = np.zeros((3, 8, 8), np.uint8)
    gt[:, :2] = 1
    pred = gt.copy()
    pred[1, 5:] = 2
    with pytest.raises(ValueError, match='object id 2 but the first GT frame has 1 objects'):
        evaluate_sequence(gt, pred)
