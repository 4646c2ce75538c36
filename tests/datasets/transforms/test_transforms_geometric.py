"""Geometric transforms keep image, instance masks and semantic map aligned."""
import numpy as np
import pytest

from seg.datasets.transforms import (RandomCrop, RandomFlip, RandomResize, Resize,
                                     keep_ratio_size, resize_nearest)
from seg.registry import TRANSFORMS

NUM_LABELS = 5


def labelled_sample(height: int = 40, width: int = 60) -> dict:
    """Three overlapping rectangles (things 0-2) on two stuff bands (3, 4).

    The image is the one-hot encoding of the semantic map (float32, one channel per label), so
    after any geometric transform channel ``l`` tells how much of label ``l`` each pixel shows.
    """
    seg = np.full((height, width), 3, dtype=np.int64)
    seg[height // 2:, :] = 4
    boxes = [(5, 5, 20, 25), (8, 30, 30, 50), (22, 10, 35, 28)]
    masks = np.zeros((len(boxes), height, width), dtype=np.uint8)
    for index, (y0, x0, y1, x1) in enumerate(boxes):
        seg[y0:y1, x0:x1] = index
        masks[index, y0:y1, x0:x1] = 1
    masks = masks & (seg[None] == np.arange(len(boxes))[:, None, None])  # later boxes occlude
    img = (seg[..., None] == np.arange(NUM_LABELS)).astype(np.float32)
    return dict(img=img, gt_seg_map=seg, gt_masks=masks,
                gt_labels=np.arange(len(boxes), dtype=np.int64), img_shape=(height, width),
                ori_shape=(height, width))


def position_sample(height: int = 30, width: int = 50) -> dict:
    """Image encoding each pixel's original (row, column) in its first two channels."""
    rows, cols = np.mgrid[0:height, 0:width]
    img = np.stack([rows, cols, np.zeros_like(rows)], axis=-1).astype(np.uint8)
    seg = (rows * width + cols).astype(np.int64)
    masks = np.stack([cols < 4, (rows > 20) & (cols > 40)]).astype(np.uint8)
    return dict(img=img, gt_seg_map=seg, gt_masks=masks, gt_labels=np.array([0, 1]),
                img_shape=(height, width), ori_shape=(height, width))


def assert_aligned(results: dict, band: int = 1) -> None:
    """Each pixel farther than ``band`` px from a label boundary shows mostly its own label
    (bilinear image weight >= 0.5); masks agree with the semantic map."""
    seg, img = results['gt_seg_map'], results['img']
    assert seg.shape == img.shape[:2] == tuple(results['img_shape'])
    assert results['gt_masks'].shape[1:] == seg.shape
    padded = np.pad(seg, band, mode='edge')
    offsets = range(-band, band + 1)
    neighbours = [padded[band + dy:band + dy + seg.shape[0], band + dx:band + dx + seg.shape[1]]
                  for dy in offsets for dx in offsets]
    interior = np.all([n == seg for n in neighbours], axis=0)
    assert interior.mean() > 0.5
    own_weight = np.take_along_axis(img, seg[..., None], axis=-1)[..., 0]
    assert own_weight[interior].min() >= 0.5 - 1e-5
    for mask, label in zip(results['gt_masks'].astype(bool), results['gt_labels']):
        assert mask.any()
        assert (seg[mask] == label).all()


def test_keep_ratio_size_follows_mmcv_rule():
    # long edge fits max(scale), short edge min(scale): 60x100 into (200, 100) -> factor 5/3
    assert keep_ratio_size(60, 100, (200, 100)) == (100, 167)
    assert keep_ratio_size(100, 60, (1333, 800)) == (1333, 800)


def test_resize_keep_ratio_shapes_and_scale_factor():
    results = Resize(scale=(200, 100), keep_ratio=True)(labelled_sample(60, 100))
    assert results['img'].shape == (100, 167, NUM_LABELS) and results['img_shape'] == (100, 167)
    assert results['scale_factor'] == pytest.approx((167 / 100, 100 / 60))
    assert results['ori_shape'] == (60, 100)
    assert_aligned(results)


def test_resize_without_keep_ratio_and_composed_scale_factor():
    results = Resize(scale=(30, 50), keep_ratio=False)(labelled_sample(40, 60))
    assert results['img_shape'] == (50, 30)
    results = Resize(scale=(60, 100), keep_ratio=False)(results)
    assert results['scale_factor'] == pytest.approx((1.0, 2.5))
    assert_aligned(results, band=2)  # pixels mixed by the first pass are spread by the second


@pytest.mark.parametrize('new_width', [17, 29, 45, 61, 97, 130])
def test_resized_label_is_the_dominant_image_content_of_every_pixel(new_width):
    # Stripes of widths 1..6 along x: in 1-D, the nearest source pixel (centre-aligned) carries
    # at least half of the bilinear weight, so every label must be its pixel's main content.
    widths = np.tile(np.arange(1, 7), 2)
    stripe_labels = np.repeat(np.arange(len(widths)) % NUM_LABELS, widths)
    seg = np.repeat(stripe_labels[None], 4, axis=0).astype(np.int64)
    img = (seg[..., None] == np.arange(NUM_LABELS)).astype(np.float32)
    results = Resize(scale=(new_width, 4), keep_ratio=False)(
        dict(img=img, gt_seg_map=seg, img_shape=seg.shape))
    own_weight = np.take_along_axis(results['img'], results['gt_seg_map'][..., None], axis=-1)
    assert own_weight.min() >= 0.5 - 1e-5


def test_resize_nearest_keeps_dtype_and_values():
    labels = np.array([[0, 65535], [7, 3]], dtype=np.int64)
    up = resize_nearest(labels, 4, 6)
    assert up.dtype == np.int64 and up.shape == (4, 6)
    assert (up[:2, :3] == 0).all() and (up[2:, 3:] == 3).all() and (up[:2, 3:] == 65535).all()
    stack = resize_nearest(np.stack([labels, labels + 1]), 4, 6)
    assert stack.shape == (2, 4, 6) and (stack[1] == up + 1).all()


def test_random_resize_samples_the_lsj_range_reproducibly():
    transform = RandomResize(scale=(100, 100), ratio_range=(0.5, 1.5), keep_ratio=True)
    sizes = []
    for seed in range(8):
        np.random.seed(seed)
        sizes.append(transform(labelled_sample(50, 50))['img_shape'])
    assert all(50 <= h <= 150 and h == w for h, w in sizes)
    assert len(set(sizes)) > 3
    np.random.seed(3)
    assert transform(labelled_sample(50, 50))['img_shape'] == sizes[3]


def test_random_crop_crops_every_field_at_the_same_offset():
    transform = RandomCrop(crop_size=(12, 20), crop_type='absolute', allow_negative_crop=True)
    original = position_sample()
    for seed in range(6):
        np.random.seed(seed)
        results = transform(position_sample())
        top, left = int(results['img'][0, 0, 0]), int(results['img'][0, 0, 1])
        window = (slice(top, top + 12), slice(left, left + 20))
        assert results['img_shape'] == (12, 20)
        assert (results['gt_seg_map'] == original['gt_seg_map'][window]).all()
        kept = [index for index in range(2) if original['gt_masks'][index][window].any()]
        assert results['gt_labels'].tolist() == kept
        assert (results['gt_masks'] == original['gt_masks'][kept][(slice(None),) + window]).all()


def test_random_crop_clips_to_small_images():
    results = RandomCrop(crop_size=(64, 64), allow_negative_crop=True)(position_sample(30, 50))
    assert results['img_shape'] == (30, 50) and results['gt_masks'].shape == (2, 30, 50)


def test_random_crop_without_negative_crop_rejects_crops_without_instances():
    transform = RandomCrop(crop_size=(10, 10), allow_negative_crop=False)
    outcomes = []
    for seed in range(12):
        sample = position_sample(10, 40)
        sample['gt_masks'] = sample['gt_masks'][:1]  # the instance covers columns 0-3
        sample['gt_labels'] = sample['gt_labels'][:1]
        np.random.seed(seed)
        left = np.random.randint(0, 31)  # the offset the transform will draw (top first: 0)
        np.random.seed(seed)
        results = transform(sample)
        outcomes.append(results is None)
        assert (results is None) == (left >= 4)
    assert any(outcomes) and not all(outcomes)


@pytest.mark.parametrize('direction, axis', [('horizontal', 1), ('vertical', 0)])
def test_random_flip_flips_image_and_targets(direction, axis):
    original = position_sample()
    results = RandomFlip(prob=1.0, direction=direction)(position_sample())
    assert results['flip'] is True and results['flip_direction'] == direction
    assert (results['img'] == np.flip(original['img'], axis)).all()
    assert (results['gt_seg_map'] == np.flip(original['gt_seg_map'], axis)).all()
    assert (results['gt_masks'] == np.flip(original['gt_masks'], axis + 1)).all()
    unchanged = RandomFlip(prob=0.0)(position_sample())
    assert unchanged['flip'] is False and unchanged['flip_direction'] is None
    assert (unchanged['img'] == original['img']).all()


def test_lsj_pipeline_keeps_alignment_and_repeats_under_a_seed():
    steps = [dict(type='RandomResize', scale=(64, 64), ratio_range=(0.5, 2.0)),
             dict(type='RandomCrop', crop_size=(48, 48), allow_negative_crop=True),
             dict(type='RandomFlip', prob=0.5)]
    pipeline = [TRANSFORMS.build(step) for step in steps]

    def run(seed):
        np.random.seed(seed)
        results = labelled_sample()
        for transform in pipeline:
            results = transform(results)
        return results

    flips = set()
    for seed in range(6):
        results = run(seed)
        assert_aligned(results)
        flips.add(results['flip'])
        again = run(seed)
        assert (again['img'] == results['img']).all()
        assert (again['gt_seg_map'] == results['gt_seg_map']).all()
    assert flips == {True, False}


@pytest.mark.parametrize('build, match', [
    (lambda: Resize(scale=(0, 10)), 'scale'),
    (lambda: RandomResize(scale=(10, 10), ratio_range=(2.0, 1.0)), 'ratio_range'),
    (lambda: RandomCrop(crop_size=(10, 10), crop_type='relative'), 'absolute'),
    (lambda: RandomFlip(prob=2.0), 'prob'),
    (lambda: RandomFlip(direction='diagonal'), 'direction'),
])
def test_invalid_arguments_are_rejected(build, match):
    with pytest.raises(ValueError, match=match):
        build()
