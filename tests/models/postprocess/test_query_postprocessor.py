"""QueryPostprocessor: configuration, batching, crop/resize, and equivalence with the reference
(upstream OMGFusionHead)."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seg.models.postprocess import PostprocessConfig, QueryPostprocessor, panoptic_postprocess
from seg.registry import MODELS
from seg.structures import SegDataSample

REFERENCE_FILE = (Path(__file__).resolve().parents[2] / 'data' / 'reference_small'
                  / 'postproc_case_small.pth')


def samples(*shapes):
    """Data samples with (img_shape, ori_shape) pairs."""
    return [SegDataSample(metainfo=dict(img_shape=img, ori_shape=ori)) for img, ori in shapes]


def random_outputs(batch=2, queries=5, num_classes=4, size=(8, 10), seed=0):
    generator = torch.Generator().manual_seed(seed)
    mask_cls = torch.randn(batch, queries, num_classes + 1, generator=generator) * 3
    mask_pred = torch.randn(batch, queries, *size, generator=generator) * 3
    return mask_cls, mask_pred


def test_registered_under_both_names_with_default_switches():
    for name in ('QueryPostprocessor', 'OMGFusionHead'):  # the reference's name still builds
        postprocessor = MODELS.build(dict(type=name))
        assert isinstance(postprocessor, QueryPostprocessor)
        assert postprocessor.cfg == PostprocessConfig()
    mask_cls, mask_pred = random_outputs()
    results = postprocessor.predict(mask_cls, mask_pred,
                                    samples(((8, 10), (8, 10)), ((6, 9), (12, 18))), num_things=3)
    assert [sorted(result) for result in results] == [['panoptic'], ['panoptic']]


def test_outputs_follow_switches_and_are_cropped_then_resized_to_ori_shape():
    postprocessor = QueryPostprocessor(test_cfg=dict(instance_on=True, semantic_on=True,
                                                     object_mask_thr=0.0))
    mask_cls, mask_pred = random_outputs()
    results = postprocessor.predict(mask_cls, mask_pred,
                                    samples(((8, 10), (4, 5)), ((6, 9), (12, 18))), num_things=3)
    for result, ori_shape in zip(results, [(4, 5), (12, 18)]):
        assert sorted(result) == ['instances', 'panoptic', 'semantic']
        assert result['panoptic'].sem_seg.shape == (1, *ori_shape)
        assert result['panoptic'].sem_seg.dtype == torch.int32
        assert result['semantic'].sem_seg.shape == (1, *ori_shape)
        assert result['semantic'].sem_seg.dtype == torch.int64
        assert result['instances'].masks.shape[1:] == ori_shape


def test_without_rescale_results_are_the_cropped_logits_fused():
    postprocessor = QueryPostprocessor(test_cfg=dict(object_mask_thr=0.0, iou_thr=0.3))
    mask_cls, mask_pred = random_outputs()
    results = postprocessor.predict(mask_cls, mask_pred,
                                    samples(((6, 9), (50, 50)), ((8, 7), (1, 1))), num_things=3,
                                    rescale=False)
    for index, (height, width) in enumerate([(6, 9), (8, 7)]):
        expected = panoptic_postprocess(mask_cls[index], mask_pred[index, :, :height, :width],
                                        3, 1, object_mask_thr=0.0, iou_thr=0.3)
        assert torch.equal(results[index]['panoptic'].sem_seg[0], expected)


def test_settings_are_a_frozen_config_updated_by_copy():
    config = PostprocessConfig.build(dict(iou_thr=0.5))
    updated = config.updated(dict(instance_on=True))
    assert (config.instance_on, updated.instance_on, updated.iou_thr) == (False, True, 0.5)
    with pytest.raises(KeyError, match='iou_threshold'):
        QueryPostprocessor(test_cfg=dict(iou_threshold=0.5))
    with pytest.raises(KeyError, match='iou_threshold'):
        config.updated(dict(iou_threshold=0.5))


def test_things_count_outside_the_classes_is_rejected():
    mask_cls, mask_pred = random_outputs(num_classes=4)
    with pytest.raises(ValueError, match='num_things=5'):
        QueryPostprocessor().predict(mask_cls, mask_pred,
                                     samples(((8, 10), (8, 10)), ((8, 10), (8, 10))),
                                     num_things=5)


def test_missing_ori_shape_is_reported():
    mask_cls, mask_pred = random_outputs(batch=1)
    with pytest.raises(KeyError, match='ori_shape'):
        QueryPostprocessor().predict(mask_cls, mask_pred,
                                     [SegDataSample(metainfo=dict(img_shape=(8, 10)))],
                                     num_things=3)


def canonical_order(scores, labels, mask_area):
    """Indices sorted by (-score, label, -mask_area, index), as the reference files store."""
    keys = list(zip((-scores).tolist(), labels.tolist(), (-mask_area).tolist(),
                    range(len(scores))))
    return torch.tensor(sorted(range(len(keys)), key=keys.__getitem__), dtype=torch.long)


def unpack_masks(packed, shape):
    bits = np.unpackbits(packed.numpy())[:int(np.prod(shape))]
    return torch.from_numpy(bits.reshape(shape).astype(bool))


@pytest.mark.parametrize('run', ['default', 'iou_thr_low'])
def test_matches_reference_fusion_on_case_small(run):
    reference = torch.load(REFERENCE_FILE, weights_only=True)
    test_cfg = dict(reference['test_cfg'])
    expected = reference['expected']
    if run == 'iou_thr_low':
        test_cfg['iou_thr'] = reference['iou_thr_low']
        expected = reference['expected_iou_thr_low']
    metas = reference['image_metas']
    # The reference head.predict resizes the stride-4 logits to the padded batch input size.
    mask_pred = F.interpolate(reference['mask_pred_stride4'], size=metas[0]['batch_input_shape'],
                              mode='bilinear', align_corners=False)
    postprocessor = QueryPostprocessor(test_cfg=test_cfg)
    results = postprocessor.predict(reference['mask_cls'], mask_pred,
                                    [SegDataSample(metainfo=meta) for meta in metas],
                                    num_things=3, rescale=True)

    for result, expected_panoptic, expected_instances in zip(
            results, expected['panoptic_seg'], expected['instances']):
        panoptic = result['panoptic'].sem_seg
        assert panoptic.shape == expected_panoptic.shape
        assert int((panoptic != expected_panoptic.to(torch.int32)).sum()) <= 3

        instances = result['instances']
        mask_area = instances.masks.flatten(1).sum(1)
        order = canonical_order(instances.scores, instances.labels, mask_area)
        expected_order = expected_instances['canonical_order']
        assert len(order) == len(expected_order)
        assert torch.equal(instances.labels[order], expected_instances['labels'][expected_order])
        torch.testing.assert_close(instances.scores[order],
                                   expected_instances['scores'][expected_order],
                                   atol=1e-4, rtol=0)
        torch.testing.assert_close(instances.bboxes[order],
                                   expected_instances['bboxes'][expected_order],
                                   atol=1e-4, rtol=0)
        assert int((mask_area[order] - expected_instances['mask_area'][expected_order])
                   .abs().max()) <= 3
        if 'masks_packed' in expected_instances:
            expected_masks = unpack_masks(expected_instances['masks_packed'],
                                          expected_instances['mask_shape'])
            flipped = (instances.masks[order] != expected_masks[expected_order]).sum()
            assert int(flipped) <= 3
