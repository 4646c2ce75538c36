"""Video ground truth as (N, T, H, W) tubes (reference: ``preprocess_video_panoptic_gt``)."""
import pytest
import torch

from seg.models.heads import video_panoptic_targets
from seg.utils.constants import VOID_LABEL


def frame_masks(*boxes, size=(6, 6)):
    masks = torch.zeros(len(boxes), *size, dtype=torch.bool)
    for index, (top, left) in enumerate(boxes):
        masks[index, top:top + 2, left:left + 2] = True
    return masks


def test_instances_are_grouped_by_id_across_frames_with_empty_slices():
    # Object 9 (label 1) in both frames, object 4 (label 0) only in frame 1, listed first.
    labels = [torch.tensor([1]), torch.tensor([0, 1])]
    masks = [frame_masks((0, 0)), frame_masks((3, 3), (0, 1))]
    ids = [torch.tensor([9]), torch.tensor([4, 9])]
    tube_labels, tubes = video_panoptic_targets(labels, masks, ids, None, 2, 0)
    assert tube_labels.tolist() == [0, 1]  # sorted by instance id: 4, 9
    assert tubes.shape == (2, 2, 6, 6)
    assert not tubes[0, 0].any() and torch.equal(tubes[0, 1], masks[1][0])
    assert torch.equal(tubes[1, 0], masks[0][0]) and torch.equal(tubes[1, 1], masks[1][1])


def test_stuff_tubes_come_from_the_semantic_maps():
    sem = [torch.full((1, 4, 4), 2), torch.full((1, 4, 4), VOID_LABEL)]
    sem[1][0, :2] = 3
    sem[0][0, 0, 0] = 0  # a thing label in the semantic map is not a stuff tube
    empty = [torch.zeros(0, dtype=torch.long)] * 2
    no_masks = [torch.zeros(0, 4, 4, dtype=torch.bool)] * 2
    labels, tubes = video_panoptic_targets(empty, no_masks, empty, sem, 2, 2)
    assert labels.tolist() == [2, 3]
    assert tubes[0, 0].sum() == 15 and not tubes[0, 1].any()
    assert not tubes[1, 0].any() and tubes[1, 1].sum() == 8


def test_an_instance_changing_label_is_rejected():
    labels = [torch.tensor([0]), torch.tensor([1])]
    masks = [frame_masks((0, 0)), frame_masks((0, 0))]
    ids = [torch.tensor([5]), torch.tensor([5])]
    with pytest.raises(ValueError, match='instance 5 changes label'):
        video_panoptic_targets(labels, masks, ids, None, 2, 0)
