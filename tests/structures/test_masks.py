"""Mask -> box / RLE: one convention (far edge exclusive) for tensors and arrays."""
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from seg.structures.masks import mask_to_box, mask_to_rle, masks_to_rles


def test_boxes_are_tight_with_exclusive_far_edges_and_zero_for_empty_masks():
    masks = torch.zeros(3, 6, 7, dtype=torch.bool)
    masks[0, 1, 2] = masks[0, 3, 4] = True
    masks[2] = True
    boxes = mask_to_box(masks)
    assert boxes.dtype == torch.float32
    assert boxes.tolist() == [[2.0, 1.0, 5.0, 4.0], [0.0] * 4, [0.0, 0.0, 7.0, 6.0]]
    assert mask_to_box(masks, 'xywh').tolist() == [[2.0, 1.0, 3.0, 3.0], [0.0] * 4,
                                                   [0.0, 0.0, 7.0, 6.0]]
    assert mask_to_box(torch.zeros(0, 4, 4)).shape == (0, 4)


def test_a_single_array_mask_gives_an_array_box_equal_to_coco_tobbox():
    mask = np.zeros((5, 9), bool)
    mask[1:4, 2:7] = True
    box = mask_to_box(mask, 'xywh')
    assert isinstance(box, np.ndarray) and box.dtype == np.float32
    assert box.tolist() == mask_utils.toBbox(mask_utils.encode(
        np.asfortranarray(mask.astype(np.uint8)))).tolist()
    assert mask_to_box(mask[::-1]).tolist() == [2.0, 1.0, 7.0, 4.0]


def test_bad_shapes_and_formats_are_named():
    with pytest.raises(ValueError, match='box format'):
        mask_to_box(np.ones((2, 2), bool), 'cxcywh')
    with pytest.raises(ValueError, match=r'\(H, W\) mask or \(N, H, W\)'):
        mask_to_box(np.ones(4, bool))
    with pytest.raises(ValueError, match='expected an'):
        masks_to_rles(np.ones((2, 2), bool))


def test_rles_are_json_ready_and_decode_to_the_masks():
    masks = np.random.default_rng(0).random((3, 6, 5)) > 0.5
    rles = masks_to_rles(masks)
    assert [rle['size'] for rle in rles] == [[6, 5]] * 3
    assert all(isinstance(rle['counts'], str) for rle in rles)
    assert mask_to_rle(masks[1]) == rles[1]
    decoded = mask_utils.decode([dict(rle, counts=rle['counts'].encode()) for rle in rles])
    assert np.array_equal(decoded.transpose(2, 0, 1).astype(bool), masks)
    assert masks_to_rles(np.zeros((0, 3, 3), bool)) == []
