"""Shared fixtures: an isolated cache, a tiny generated dataset and a tiny model config."""
import copy
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes caches (text embeddings...) under a temporary folder, never $HOME."""
    cache = tmp_path_factory.getbasetemp() / 'omgseg_cache'
    monkeypatch.setenv('OMGSEG_CACHE', str(cache))
    return cache


@pytest.fixture(scope='session')
def toy_data_root(tmp_path_factory) -> Path:
    """A few images of the toy COCO-panoptic dataset, generated once per test session."""
    from seg.testing.toy_data import generate_toy_dataset
    root = tmp_path_factory.mktemp('toy_coco')
    generate_toy_dataset(root, num_train=8, num_val=4, seed=0, overwrite=True, log=None)
    return root


TINY_CHANNELS = 32


def tiny_model_cfg(data_root: Path, num_queries: int = 8) -> dict:
    """The toy model shrunk further (32 channels, 2 decoder layers) for fast tests."""
    attention = dict(embed_dims=TINY_CHANNELS, num_heads=2, dropout=0.0, batch_first=True)
    ffn = dict(embed_dims=TINY_CHANNELS, feedforward_channels=64, num_fcs=2, ffn_drop=0.0,
               act_cfg=dict(type='ReLU', inplace=True))
    return dict(
        type='OMGSegmentor',
        data_preprocessor=dict(type='SegDataPreprocessor', pad_size_divisor=32),
        backbone=dict(
            type='OpenCLIPBackbone', model_name='convnext_omg_test', pretrained=None,
            frozen=False,
            model_cfg=dict(
                embed_dim=32,
                vision_cfg=dict(timm_model_name='convnext_omg_test', timm_model_pretrained=False,
                                timm_pool='', timm_proj='mlp', timm_drop=0.0,
                                timm_drop_path=0.0, image_size=64),
                text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                              layers=1)),
            trunk_cfg=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128))),
        vocabulary=dict(ann_file=str(data_root / 'annotations' / 'panoptic_train2017.json'),
                        name='toy_test'),
        text_embeddings=dict(generate_if_missing=True),
        panoptic_head=dict(
            type='OMGHead', feat_channels=TINY_CHANNELS, out_channels=TINY_CHANNELS,
            num_queries=num_queries,
            pixel_decoder=dict(
                type='MSDeformAttnPixelDecoder', num_outs=3,
                norm_cfg=dict(type='GN', num_groups=8),
                encoder=dict(num_layers=1, layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=TINY_CHANNELS, num_heads=2, num_levels=3,
                                       num_points=2, dropout=0.0, batch_first=True),
                    ffn_cfg=ffn)),
                positional_encoding=dict(num_feats=TINY_CHANNELS // 2, normalize=True)),
            positional_encoding=dict(num_feats=TINY_CHANNELS // 2, normalize=True),
            transformer_decoder=dict(num_layers=2, return_intermediate=True, layer_cfg=dict(
                self_attn_cfg=attention, cross_attn_cfg=copy.deepcopy(attention), ffn_cfg=ffn))),
        criterion=dict(type='SetCriterion',
                       loss_objectness=dict(type='FocalLoss', use_sigmoid=True, loss_weight=2.0)),
        postprocessor=dict(type='QueryPostprocessor'),
        train_cfg=dict(
            num_points=256, oversample_ratio=3.0, importance_sample_ratio=0.75,
            assigner=dict(type='HungarianAssigner', match_costs=[
                dict(type='ClassificationCost', weight=2.0),
                dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)])),
        test_cfg=dict(panoptic_on=True, instance_on=True, semantic_on=True, max_per_image=20,
                      iou_thr=0.8, filter_low_score=True, object_mask_thr=0.0))


@pytest.fixture
def tiny_cfg(toy_data_root):
    return tiny_model_cfg(toy_data_root)
