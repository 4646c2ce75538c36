"""Interactive pipeline steps: stuff as instances, training prompts, evaluation clicks."""
import numpy as np
import pytest
import torch

from seg.datasets.transforms import (AddStuffInstances, GenerateEvalClicks, GeneratePrompts,
                                     PackInteractiveInputs)
from seg.utils.constants import VOID_LABEL


def scene():
    """8x10: thing label 0 (rows 1-3, cols 1-4), stuff 5 (rest of rows 0-4), stuff 6 (rows
    5-7, cols 0-7), void (rows 5-7, cols 8-9)."""
    seg_map = np.full((8, 10), 5, dtype=np.int64)
    seg_map[5:, :8] = 6
    seg_map[5:, 8:] = VOID_LABEL
    thing = np.zeros((1, 8, 10), dtype=np.uint8)
    thing[0, 1:4, 1:5] = 1
    seg_map[1:4, 1:5] = 0
    return dict(img=np.zeros((8, 10, 3), dtype=np.uint8), img_shape=(8, 10), ori_shape=(8, 10),
                gt_masks=thing, gt_labels=np.array([0]), gt_seg_map=seg_map,
                num_things_classes=5)


def test_stuff_segments_become_instances_after_the_things():
    results = AddStuffInstances()(scene())
    assert results['gt_labels'].tolist() == [0, 5, 6]
    masks = results['gt_masks'].astype(bool)
    assert masks.sum(axis=(1, 2)).tolist() == [12, 50 - 12, 24]
    assert not masks[:, 5:, 8:].any()  # void stays out
    with pytest.raises(KeyError, match='num_things_classes'):
        AddStuffInstances()({k: v for k, v in scene().items() if k != 'num_things_classes'})
    assert AddStuffInstances(num_things_classes=7)(scene())['gt_labels'].tolist() == [0]


@pytest.mark.parametrize('mode', ['point', 'box', 'mix'])
def test_prompts_belong_to_their_masks_and_fill_n_slots(mode):
    np.random.seed(0)
    results = GeneratePrompts(num_prompts=7, mode=mode)(AddStuffInstances()(scene()))
    masks, boxes, is_point = (results['gt_masks'].astype(bool), results['prompt_boxes'],
                              results['prompt_is_point'])
    assert len(masks) == len(boxes) == len(is_point) == len(results['gt_labels']) == 7
    # Three instances tiled to 7 prompts: each instance is used two or three times.
    labels, counts = np.unique(results['gt_labels'], return_counts=True)
    assert labels.tolist() == [0, 5, 6] and sorted(counts.tolist()) == [2, 2, 3]
    for mask, box, point in zip(masks, boxes, is_point):
        if point:
            assert box[0] == box[2] and box[1] == box[3] and mask[int(box[1]), int(box[0])]
        else:
            ys, xs = np.nonzero(mask)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert is_point.all() if mode == 'point' else True
    assert not is_point.any() if mode == 'box' else True


def test_images_without_instances_are_redrawn_and_bad_settings_raise():
    empty = dict(scene(), gt_masks=np.zeros((0, 8, 10), np.uint8), gt_labels=np.zeros(0))
    assert GeneratePrompts()(empty) is None
    with pytest.raises(ValueError, match='mode'):
        GeneratePrompts(mode='scribble')
    with pytest.raises(ValueError, match='num_prompts'):
        GeneratePrompts(num_prompts=0)


def test_eval_clicks_are_centre_points_scaled_to_the_network_input():
    results = AddStuffInstances()(scene())
    results.update(img_shape=(16, 20), scale_factor=(2.0, 2.0))  # GT kept at (8, 10)
    results = GenerateEvalClicks()(results)
    # Thing rows 1-3, cols 1-4: farthest pixels (distance 2) row 2, cols 2-3 -> (2, 2).
    assert results['prompt_boxes'][0].tolist() == [4.0, 4.0, 4.0, 4.0]
    assert results['prompt_is_point'].all() and len(results['prompt_boxes']) == 3
    packed = PackInteractiveInputs()(results)
    prompts = packed['data_samples'].prompts
    assert prompts.boxes.dtype == torch.float32 and prompts.boxes.shape == (3, 4)
    assert len(packed['data_samples'].gt_instances) == 3
    with pytest.raises(KeyError, match='prompt_boxes'):
        PackInteractiveInputs()(scene())


def test_extra_clicks_are_positive_inside_and_negative_outside_their_mask():
    np.random.seed(0)
    results = GeneratePrompts(num_prompts=30, max_extra_points=3)(AddStuffInstances()(scene()))
    points, labels = results['prompt_points'], results['prompt_point_labels']
    assert points.shape == (30, 3, 2) and labels.shape == (30, 3)
    counts = (labels >= 0).sum(1)
    assert set(counts.tolist()) == {0, 1, 2, 3}  # uniform 0..3 extra clicks
    assert np.all(labels[:, 1:][labels[:, :-1] < 0] < 0)  # padding only at the end
    assert (labels == 1).any() and (labels == 0).any()
    for mask, prompt_points, prompt_labels in zip(results['gt_masks'].astype(bool), points,
                                                  labels):
        for (x, y), label in zip(prompt_points, prompt_labels):
            if label >= 0:
                assert mask[int(y), int(x)] == bool(label)
    packed = PackInteractiveInputs()(results)['data_samples'].prompts
    assert packed.points.shape == (30, 3, 2) and packed.point_labels.dtype == torch.int64
    with pytest.raises(ValueError, match='max_extra_points'):
        GeneratePrompts(max_extra_points=-1)
