import pytest
import torch

from seg.models.matching import get_uncertain_point_coords_with_randomness, point_sample


def test_point_sample_hand_values_on_2x2_map():
    # Channel 0: [[1, 2], [3, 4]]; channel 1 = 10 x channel 0. With align_corners=False the pixel
    # centres sit at 0.25 and 0.75; (0.5, 0.5) is the mean of all four; the corner (0, 0) is a
    # quarter of the top-left pixel (zero padding outside).
    base = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    maps = torch.stack([base, 10 * base])[None]
    points = torch.tensor([[[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.5, 0.5], [0.0, 0.0],
                            [0.5, 0.25]]])
    out = point_sample(maps, points)
    expected = torch.tensor([1.0, 2.0, 3.0, 2.5, 0.25, 1.5])
    assert out.shape == (1, 2, 6)
    torch.testing.assert_close(out[0, 0], expected)
    torch.testing.assert_close(out[0, 1], 10 * expected)


def test_point_sample_batched_grid_points_and_bool_masks():
    masks = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    masks[0, 0, :, :2] = True  # left half of mask 0
    masks[1, 0, 2:, :] = True  # bottom half of mask 1
    points = torch.tensor([[0.125, 0.5], [0.875, 0.5]])[None].expand(2, -1, -1)
    out = point_sample(masks, points)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[:, 0], torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
    grid_points = torch.tensor([[0.125, 0.125], [0.125, 0.875]]).view(1, 1, 2, 2)
    grid_points = grid_points.expand(2, -1, -1, -1)
    grid_out = point_sample(masks, grid_points)
    assert grid_out.shape == (2, 1, 1, 2)
    torch.testing.assert_close(grid_out[:, 0, 0], torch.tensor([[1.0, 1.0], [0.0, 1.0]]))


def test_point_sample_gradient_reaches_input():
    maps = torch.randn(3, 1, 5, 5, requires_grad=True)
    point_sample(maps, torch.rand(3, 7, 2)).sum().backward()
    assert maps.grad is not None and maps.grad.abs().sum() > 0


def test_point_sample_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match='batch sizes differ'):
        point_sample(torch.zeros(2, 1, 4, 4), torch.rand(3, 5, 2))
    with pytest.raises(ValueError, match='points must be'):
        point_sample(torch.zeros(2, 1, 4, 4), torch.rand(2, 5, 3))


def test_uncertain_points_are_the_most_uncertain_candidates():
    # Two masks with different logit layouts; every kept point must be among its own mask's
    # candidates and be more uncertain (-|logit|) than every dropped candidate.
    logits = torch.stack([torch.linspace(-4, 4, 64).view(8, 8),
                          torch.linspace(-4, 4, 64).view(8, 8).t() * 3])[:, None]
    num_points, oversample, importance = 10, 3.0, 0.7
    torch.manual_seed(0)
    coords = get_uncertain_point_coords_with_randomness(logits, num_points, oversample, importance)
    torch.manual_seed(0)
    candidates = torch.rand(2, 30, 2)  # mmdet draws the oversampled candidates first
    assert coords.shape == (2, num_points, 2)
    assert coords.min() >= 0 and coords.max() <= 1
    num_uncertain = 7
    for mask_index in range(2):
        uncertainty = -point_sample(logits[mask_index:mask_index + 1],
                                    candidates[mask_index:mask_index + 1])[0, 0].abs()
        chosen = coords[mask_index, :num_uncertain]
        matches = (chosen[:, None, :] == candidates[mask_index][None]).all(-1)
        assert matches.any(1).all(), 'uncertain points must come from the candidates'
        chosen_index = matches.float().argmax(1)
        dropped = torch.ones(30, dtype=torch.bool)
        dropped[chosen_index] = False
        assert uncertainty[chosen_index].min() >= uncertainty[dropped].max()


def test_uncertain_points_random_only_and_bad_ratios():
    logits = torch.randn(3, 1, 6, 6)
    coords = get_uncertain_point_coords_with_randomness(logits, 5, 2.0, 0.0)
    assert coords.shape == (3, 5, 2)
    with pytest.raises(ValueError, match='oversample_ratio'):
        get_uncertain_point_coords_with_randomness(logits, 5, 0.5, 0.5)
    with pytest.raises(ValueError, match='importance_sample_ratio'):
        get_uncertain_point_coords_with_randomness(logits, 5, 2.0, 1.5)
    with pytest.raises(ValueError, match=r'\(N, 1, H, W\)'):
        get_uncertain_point_coords_with_randomness(torch.randn(3, 2, 6, 6), 5, 2.0, 0.5)


def test_uncertain_points_under_bf16_autocast():
    logits = torch.randn(2, 1, 6, 6).bfloat16()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        coords = get_uncertain_point_coords_with_randomness(logits, 8, 3.0, 0.75)
    assert coords.shape == (2, 8, 2) and coords.dtype == torch.float32
