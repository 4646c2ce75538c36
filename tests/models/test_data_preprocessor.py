"""SegDataPreprocessor: normalisation, padding, metainfo and target padding."""
from pathlib import Path

import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData, PixelData

from seg.models.data_preprocessor import SegDataPreprocessor
from seg.registry import MODELS
from seg.structures import SegDataSample
from seg.utils.constants import VOID_LABEL

REFERENCE = Path(__file__).resolve().parents[1] / 'data' / 'reference_small' / \
    'preprocessor_case_small.pth'
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)


def make_sample(height: int, width: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator)
    sample = SegDataSample(metainfo=dict(img_shape=(height, width), img_path=f'{seed}.jpg'))
    masks = torch.zeros(2, height, width, dtype=torch.bool)
    masks[0, :3, :4] = True
    masks[1, -2:, -5:] = True
    sample.gt_instances = InstanceData(labels=torch.tensor([1, 0]), masks=masks)
    sem_seg = torch.randint(0, 5, (1, height, width), generator=generator)
    sample.gt_sem_seg = PixelData(sem_seg=sem_seg)
    return dict(inputs=image, data_samples=sample)


def test_matches_the_reference_preprocessor_output():
    reference = torch.load(REFERENCE, weights_only=True)
    batch = SegDataPreprocessor()(dict(inputs=reference['raw_bgr_uint8'], data_samples=None))
    assert batch['inputs'].shape == (2, 3) + reference['batch_input_shape']
    torch.testing.assert_close(batch['inputs'][:, :, ::4, ::4],
                               reference['expected_inputs_every_4th_pixel'], rtol=0, atol=1e-5)


def test_mixed_sizes_are_normalised_rgb_and_zero_padded():
    batch_in = pseudo_collate([make_sample(50, 70, 0), make_sample(64, 33, 1)])
    originals = [image.clone() for image in batch_in['inputs']]
    out = SegDataPreprocessor()(batch_in, training=True)
    inputs = out['inputs']
    assert inputs.dtype == torch.float32 and inputs.shape == (2, 3, 64, 96)
    for index, (image, (height, width)) in enumerate(zip(originals, [(50, 70), (64, 33)])):
        expected = (image.float().flip(0) - MEAN) / STD
        torch.testing.assert_close(inputs[index, :, :height, :width], expected)
        assert (inputs[index, :, height:] == 0).all() and (inputs[index, :, :, width:] == 0).all()
    first, second = out['data_samples']
    assert first.batch_input_shape == second.batch_input_shape == (64, 96)
    assert first.pad_shape == (64, 96) and second.pad_shape == (64, 64)
    assert first.img_shape == (50, 70)  # the valid region stays known


def test_targets_are_padded_with_their_pad_values():
    sample = make_sample(50, 70, 0)
    original_masks = sample['data_samples'].gt_instances.masks.clone()
    original_seg = sample['data_samples'].gt_sem_seg.sem_seg.clone()
    out = SegDataPreprocessor()(pseudo_collate([sample, make_sample(64, 33, 1)]), training=True)
    packed = out['data_samples'][0]
    masks, sem_seg = packed.gt_instances.masks, packed.gt_sem_seg.sem_seg
    assert masks.dtype == torch.bool and masks.shape == (2, 64, 96)
    assert (masks[:, :50, :70] == original_masks).all() and not masks[:, 50:].any()
    assert not masks[:, :, 70:].any()
    assert sem_seg.dtype == torch.int64 and sem_seg.shape == (1, 64, 96)
    assert (sem_seg[:, :50, :70] == original_seg).all()
    assert (sem_seg[:, 50:] == VOID_LABEL).all() and (sem_seg[:, :, 70:] == VOID_LABEL).all()
    assert packed.gt_instances.labels.tolist() == [1, 0]


def test_fixed_size_pads_every_batch_to_it():
    preprocessor = MODELS.build(dict(type='SegDataPreprocessor', fixed_size=(96, 128),
                                     mask_pad_value=0, seg_pad_value=255))
    out = preprocessor(pseudo_collate([make_sample(50, 70, 0)]), training=True)
    assert out['inputs'].shape == (1, 3, 96, 128)
    sample = out['data_samples'][0]
    assert sample.batch_input_shape == sample.pad_shape == (96, 128)
    assert (sample.gt_sem_seg.sem_seg[:, 50:] == 255).all()
    with pytest.raises(ValueError, match=r'\(100, 70\).*fixed_size'):
        preprocessor(pseudo_collate([make_sample(100, 70, 0)]))
    with pytest.raises(ValueError, match='multiples'):
        SegDataPreprocessor(fixed_size=(100, 128))


def test_options_for_channel_order_pad_value_and_stacked_inputs():
    image = torch.arange(3 * 4 * 5, dtype=torch.uint8).view(3, 4, 5)
    preprocessor = SegDataPreprocessor(mean=(0, 0, 0), std=(1, 1, 1), bgr_to_rgb=False,
                                       pad_size_divisor=8, pad_value=-1)
    out = preprocessor(dict(inputs=image[None], data_samples=None))
    assert out['inputs'].shape == (1, 3, 8, 8) and out['data_samples'] is None
    assert (out['inputs'][0, :, :4, :5] == image.float()).all()
    assert (out['inputs'][0, :, 4:] == -1).all()


def test_evaluation_targets_at_the_original_size_are_left_alone():
    sample = make_sample(40, 60, 0)
    sample['inputs'] = sample['inputs'][:, :32, :48]  # the image was resized, the gt was not
    out = SegDataPreprocessor()(pseudo_collate([sample]), training=False)
    assert out['data_samples'][0].gt_sem_seg.sem_seg.shape == (1, 40, 60)
    sample = make_sample(40, 60, 0)
    sample['inputs'] = sample['inputs'][:, :32, :48]
    with pytest.raises(ValueError, match=r'0\.jpg has size \(40, 60\)'):
        SegDataPreprocessor()(pseudo_collate([sample]), training=True)


def test_bad_batches_are_rejected():
    with pytest.raises(ValueError, match=r'\(3, 4\)'):
        SegDataPreprocessor()(dict(inputs=[torch.zeros(3, 4, dtype=torch.uint8)]))
    with pytest.raises(ValueError, match='1 images but 2 data samples'):
        SegDataPreprocessor()(dict(inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)],
                                   data_samples=[SegDataSample(), SegDataSample()]))
