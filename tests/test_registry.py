"""Every component builds from a config dict through the package's registries."""
import pytest
import torch

from seg.models import build_segmentor
from seg.registry import DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPERS, TASK_UTILS, TRANSFORMS

TINY_CHANNELS = 32

FFN = dict(embed_dims=TINY_CHANNELS, feedforward_channels=64, num_fcs=2, ffn_drop=0.0,
           act_cfg=dict(type='ReLU', inplace=True))


@pytest.mark.parametrize('cfg', [
    dict(type='MSDeformAttnPixelDecoder', in_channels=[8, 16, 32, 64],
         feat_channels=TINY_CHANNELS, out_channels=TINY_CHANNELS,
         norm_cfg=dict(type='GN', num_groups=8),
         encoder=dict(num_layers=1, layer_cfg=dict(
             self_attn_cfg=dict(embed_dims=TINY_CHANNELS, num_heads=2, num_levels=3,
                                num_points=2, dropout=0.0, batch_first=True),
             ffn_cfg=FFN)),
         positional_encoding=dict(num_feats=TINY_CHANNELS // 2, normalize=True)),
    dict(type='SegDataPreprocessor'),
    dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0),
    dict(type='DiceLoss', naive_dice=True, eps=1.0),
    dict(type='FocalLoss', use_sigmoid=True),
], ids=lambda cfg: cfg['type'])
def test_model_components_build(cfg):
    module = MODELS.build(cfg)
    assert isinstance(module, torch.nn.Module)
    assert type(module).__name__ == cfg['type']


@pytest.mark.parametrize('cfg, expected', [
    (dict(type='QueryPostprocessor', test_cfg=dict(instance_on=True)), 'QueryPostprocessor'),
    (dict(type='OMGFusionHead'), 'QueryPostprocessor'),  # the reference's name still builds
    (dict(type='SetCriterion'), 'SetCriterion'),
    (dict(type='PromptEncoder', feat_channels=16), 'PromptEncoder'),
], ids=lambda value: value['type'] if isinstance(value, dict) else value)
def test_parameter_free_and_prompt_components_build(cfg, expected):
    assert type(MODELS.build(cfg)).__name__ == expected


def test_segmentor_backbone_and_head_build(tiny_cfg):
    model = build_segmentor(tiny_cfg)
    assert type(model).__name__ == 'OMGSegmentor'
    assert type(model.backbone).__name__ == 'OpenCLIPBackbone'
    assert type(model.panoptic_head).__name__ == 'OMGHead'
    backbone = MODELS.build(tiny_cfg['backbone'])
    assert backbone.out_channels == [16, 32, 64, 128]


@pytest.mark.parametrize('cfg', [
    dict(type='HungarianAssigner', match_costs=[dict(type='ClassificationCost', weight=2.0)]),
    dict(type='ClassificationCost', weight=2.0),
    dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
    dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0),
], ids=lambda cfg: cfg['type'])
def test_task_utils_build(cfg):
    assert type(TASK_UTILS.build(cfg)).__name__ == cfg['type']


@pytest.mark.parametrize('cfg', [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPanopticAnnotations'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=(32, 32), allow_negative_crop=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FilterAnnotations', min_gt_mask_area=1),
    dict(type='PackSegInputs'),
], ids=lambda cfg: cfg['type'])
def test_transforms_build(cfg):
    assert type(TRANSFORMS.build(cfg)).__name__ == cfg['type']


def test_dataset_builds(toy_data_root):
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(toy_data_root),
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        test_mode=True, pipeline=[]))
    assert len(dataset) == 4
    assert dataset.metainfo['thing_classes'] == ('ball', 'box', 'tent', 'ring')


@pytest.mark.parametrize('name', ['CocoPanopticMetric', 'CocoInstanceMetric', 'SemSegMetric'])
def test_metrics_build(name):
    assert type(METRICS.build(dict(type=name))).__name__ == name


def test_engine_components_build():
    assert type(HOOKS.build(dict(type='CheckpointFormatHook'))).__name__ == 'CheckpointFormatHook'
    assert type(HOOKS.build(dict(type='SegVisualizationHook'))).__name__ == 'SegVisualizationHook'
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    wrapper = OPTIM_WRAPPERS.build(dict(type='CPUAutocastOptimWrapper', optimizer=optimizer))
    assert wrapper.dtype == torch.bfloat16
