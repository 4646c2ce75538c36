"""bf16 autocast on CPU stays close to fp32 for inference and for a training step.

Tolerances (bf16 keeps 8 mantissa bits, ~0.4% per rounding, compounded over the network):
the last layer's mask and class logits within 5% of their fp32 range; every loss within 5%
relative; the flattened gradient within cosine 0.99 of the fp32 one.
"""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from seg.models.precision import bf16_autocast, prepare_bf16_inference
from seg.registry import DATASETS
from seg.utils.constants import INSTANCE_OFFSET


@pytest.fixture(scope='module')
def batch(toy_data_root):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                dict(type='Resize', scale=(64, 64), keep_ratio=True), dict(type='PackSegInputs')]
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(toy_data_root),
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=pipeline))
    return pseudo_collate([dataset[i] for i in range(2)])


def _bf16():
    return torch.autocast('cpu', dtype=torch.bfloat16)


def _within_range_fraction(got: torch.Tensor, expected: torch.Tensor, fraction: float) -> None:
    scale = expected.abs().max().item()
    error = (got.float() - expected).abs().max().item()
    assert error <= fraction * scale, f'max error {error:.4g} > {fraction} * {scale:.4g}'


def test_bf16_inference_outputs_stay_close_to_fp32(model, batch):
    model.eval()
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        expected = model(**data, mode='tensor')
        with _bf16():
            got = model(**data, mode='tensor')
    assert got.last.mask_logits.dtype == torch.bfloat16  # autocast really ran in bf16
    for key in ('mask_logits', 'class_logits', 'objectness'):
        _within_range_fraction(getattr(got.last, key), getattr(expected.last, key), 0.05)


def test_bf16_training_step_stays_close_to_fp32(model, batch):
    model.train()
    data = model.data_preprocessor(batch, True)
    results = []
    for autocast in (False, True):
        model.zero_grad()
        torch.manual_seed(1)  # the same point sampling in both runs
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
        gradient = torch.cat([p.grad.flatten() for p in model.parameters()
                              if p.grad is not None])
        results.append(({k: v.detach().float() for k, v in losses.items()}, gradient))
    (expected_losses, expected_grad), (got_losses, got_grad) = results
    assert expected_losses.keys() == got_losses.keys()
    for key, expected in expected_losses.items():
        torch.testing.assert_close(got_losses[key], expected, rtol=0.05, atol=1e-3,
                                   msg=f'{key} differs')
    cosine = torch.nn.functional.cosine_similarity(got_grad, expected_grad, dim=0)
    assert cosine > 0.99, f'gradient cosine {cosine:.4f}'


@pytest.mark.parametrize('bf16_backbone', [False, True])
def test_bf16_predict_stays_close_to_fp32(model, batch, bf16_backbone):
    """End to end under bf16 autocast (and with the backbone's weights cast to bf16, the
    recipe of seg.models.precision): the class logits come out of the (float32) text cosine,
    the post-processing fuses in float32; the maps agree with fp32 almost everywhere."""
    model.eval()
    data = model.data_preprocessor(batch, False)
    with torch.no_grad():
        expected = model.predict(data['inputs'], [s.clone() for s in data['data_samples']])
        if bf16_backbone:
            model = prepare_bf16_inference(copy.deepcopy(model))
            assert model.backbone.weight_dtype == torch.bfloat16
            assert model.backbone(data['inputs'])[0].dtype == torch.float32  # maps come back
        with bf16_autocast('cpu'):
            output = model(data['inputs'], mode='tensor')
            got = model.predict(data['inputs'], [s.clone() for s in data['data_samples']])
    assert output.last.class_logits.dtype == torch.float32  # the cosine stays float32
    for ours, reference in zip(got, expected):
        semantic = (ours.pred_sem_seg.sem_seg == reference.pred_sem_seg.sem_seg).float().mean()
        assert semantic >= 0.95, f'semantic maps agree on {semantic:.3f} of the pixels'
        # instance ids may be numbered differently: compare the class of every pixel
        pan_ours, pan_ref = ours.pred_panoptic_seg.sem_seg, reference.pred_panoptic_seg.sem_seg
        panoptic = (pan_ours % INSTANCE_OFFSET == pan_ref % INSTANCE_OFFSET).float().mean()
        assert panoptic >= 0.95, f'panoptic classes agree on {panoptic:.3f} of the pixels'
        scores_ours = ours.pred_instances.scores
        scores_ref = reference.pred_instances.scores
        torch.testing.assert_close(scores_ours[:5].float(), scores_ref[:5].float(),
                                   rtol=0.05, atol=0.02)
