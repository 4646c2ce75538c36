"""PackSegInputs: tensor types and shapes the model and metrics rely on."""
import numpy as np
import torch

from seg.datasets.transforms import PackSegInputs, RandomFlip
from seg.structures import SegDataSample
from seg.utils.constants import VOID_LABEL


def sample_results() -> dict:
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    masks = np.zeros((2, 5, 7), dtype=np.uint8)
    masks[0, :2, :3] = 1
    masks[1, 3:, 4:] = 1
    seg = np.full((5, 7), VOID_LABEL, dtype=np.int64)
    seg[masks[0].astype(bool)] = 0
    seg[masks[1].astype(bool)] = 2
    return dict(img=img, gt_masks=masks, gt_labels=np.array([0, 2]), gt_seg_map=seg, img_id=3,
                img_path='a.jpg', ori_shape=(5, 7), img_shape=(5, 7), scale_factor=(1.0, 1.0),
                seg_map_path='a.png', segments_info=[dict(id=1)], extra='not packed')


def test_pack_produces_typed_tensors_and_metainfo():
    results = sample_results()
    packed = PackSegInputs()(dict(results))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(sample, SegDataSample)
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 5, 7) and inputs.is_contiguous()
    assert (inputs.numpy() == results['img'].transpose(2, 0, 1)).all()  # BGR order kept
    assert sample.gt_instances.labels.dtype == torch.int64
    assert sample.gt_instances.labels.tolist() == [0, 2]
    assert sample.gt_instances.masks.dtype == torch.bool
    assert (sample.gt_instances.masks.numpy() == results['gt_masks'].astype(bool)).all()
    assert sample.gt_sem_seg.sem_seg.dtype == torch.int64
    assert sample.gt_sem_seg.sem_seg.shape == (1, 5, 7)
    assert (sample.gt_sem_seg.sem_seg[0].numpy() == results['gt_seg_map']).all()
    assert sample.img_id == 3 and sample.seg_map_path == 'a.png'
    assert sample.segments_info == [dict(id=1)]
    assert 'extra' not in sample.metainfo and 'flip' not in sample.metainfo


def test_pack_without_annotations_and_of_flipped_views():
    results = sample_results()
    for key in ('gt_masks', 'gt_labels', 'gt_seg_map'):
        del results[key]
    flipped = RandomFlip(prob=1.0)(results)  # numpy views with negative strides
    packed = PackSegInputs(meta_keys=('img_id', 'flip'))(flipped)
    assert packed['inputs'].is_contiguous()
    assert (packed['inputs'][:, :, 0].numpy() == sample_results()['img'][:, -1].T).all()
    sample = packed['data_samples']
    assert 'gt_instances' not in sample and 'gt_sem_seg' not in sample
    assert set(sample.metainfo) == {'img_id', 'flip'}


def test_pack_with_no_instances_keeps_empty_typed_fields():
    results = sample_results()
    results['gt_masks'] = results['gt_masks'][:0]
    results['gt_labels'] = results['gt_labels'][:0]
    sample = PackSegInputs()(results)['data_samples']
    assert sample.gt_instances.masks.shape == (0, 5, 7)
    assert sample.gt_instances.labels.dtype == torch.int64
