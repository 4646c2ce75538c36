"""Sine positional encodings against the reference (mmdet) outputs of case_small.

``pixel_decoder_encodings.pth`` holds tensors copied from
/work/shared/reference_outputs/case_small: the SinePositionalEncoding3D(num_feats=32,
normalize=True) outputs of the video run (B=1, T=2) and of the image run (level 0, T=1), and
the prompt boxes (inverse-sigmoid logits) with their ``coordinate_to_encoding`` (512 features).
"""
import math
from pathlib import Path

import pytest
import torch

from seg.models.layers import (SinePositionalEncoding, SinePositionalEncoding3D,
                               coordinate_to_encoding)

DATA = Path(__file__).parents[2] / 'data' / 'reference_small' / 'pixel_decoder_encodings.pth'


@pytest.fixture(scope='module')
def reference():
    return torch.load(DATA, weights_only=True)


def test_sine_3d_matches_reference_video_and_image(reference):
    encoding = SinePositionalEncoding3D(num_feats=32, normalize=True)
    expected_maps = reference['video_positional_encodings'] + [
        reference['image_positional_encoding_level0']]
    for expected in expected_maps:
        batch, frames, channels, height, width = expected.shape
        got = encoding(torch.zeros(batch, frames, height, width, dtype=torch.bool))
        assert got.shape == (batch, frames, 64, height, width)
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_coordinate_to_encoding_matches_reference_prompt_boxes(reference):
    boxes = reference['prompt_query_bbox_logit'].sigmoid()
    got = coordinate_to_encoding(boxes)
    assert got.shape == (2, 4, 512)
    torch.testing.assert_close(got, reference['prompt_query_pos_encoding'], atol=1e-6, rtol=0)


def test_coordinate_to_encoding_points_are_the_box_centre_blocks():
    boxes = torch.rand(3, 5, 4)
    torch.testing.assert_close(coordinate_to_encoding(boxes[..., :2], num_feats=16),
                               coordinate_to_encoding(boxes, num_feats=16)[..., :32])
    # 2-D input works too (no batch axis)
    assert coordinate_to_encoding(boxes[0], num_feats=16).shape == (5, 64)
    with pytest.raises(ValueError, match='must end with 2'):
        coordinate_to_encoding(torch.zeros(2, 3))


def test_sine_2d_layout_y_then_x_with_interleaved_sin_cos():
    encoding = SinePositionalEncoding(num_feats=4)  # unnormalised: coordinates 1..h, 1..w
    pos = encoding(torch.zeros(1, 2, 3, dtype=torch.bool))
    assert pos.shape == (1, 8, 2, 3)
    y, x = 2.0, 3.0  # bottom-right pixel
    periods = [1.0, 1.0, 100.0, 100.0]  # 10000 ** (2 * (i // 2) / 4)

    def block(coord):
        return [math.sin(coord / periods[0]), math.cos(coord / periods[1]),
                math.sin(coord / periods[2]), math.cos(coord / periods[3])]

    torch.testing.assert_close(pos[0, :, 1, 2], torch.tensor(block(y) + block(x)))


def test_sine_2d_normalised_code_ignores_padding():
    """The valid region of a padded mask gets the code of an unpadded map of its size."""
    encoding = SinePositionalEncoding(num_feats=8, normalize=True)
    mask = torch.ones(2, 6, 7, dtype=torch.bool)
    mask[0, :4, :5] = False
    mask[1, :6, :3] = False
    pos = encoding(mask)
    torch.testing.assert_close(pos[0, :, :4, :5],
                               encoding(torch.zeros(1, 4, 5, dtype=torch.bool))[0])
    torch.testing.assert_close(pos[1, :, :, :3],
                               encoding(torch.zeros(1, 6, 3, dtype=torch.bool))[0])


def test_sine_3d_without_time_code_is_the_2d_code():
    """For T=1 the 3-D code is the 2-D code plus a per-channel constant (the time code)."""
    encoding_2d = SinePositionalEncoding(num_feats=8, normalize=True)
    encoding_3d = SinePositionalEncoding3D(num_feats=8, normalize=True)
    difference = encoding_3d(torch.zeros(1, 1, 3, 4, dtype=torch.bool))[:, 0] - encoding_2d(
        torch.zeros(1, 3, 4, dtype=torch.bool))
    torch.testing.assert_close(difference, difference[..., :1, :1].expand_as(difference))
    assert difference.abs().max() > 0.1


def test_mask_rank_is_checked():
    with pytest.raises(ValueError, match=r'\(B, h, w\)'):
        SinePositionalEncoding(num_feats=4)(torch.zeros(1, 1, 2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r'\(B, T, h, w\)'):
        SinePositionalEncoding3D(num_feats=4)(torch.zeros(1, 2, 2, dtype=torch.bool))
