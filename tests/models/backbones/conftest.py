"""A tiny open_clip ConvNeXt model (random init, no hub access) shared by the backbone tests."""
import copy

import pytest

TINY_MODEL_NAME = 'convnext_tiny_backbone_test'
TINY_TRUNK_NAME = 'convnext_trunk_backbone_test'
TINY_MODEL_CFG = dict(embed_dim=16,
                      vision_cfg=dict(timm_model_name=TINY_TRUNK_NAME,
                                      timm_model_pretrained=False,
                                      timm_pool='',
                                      timm_proj='mlp',
                                      timm_drop=0.0,
                                      timm_drop_path=0.0,
                                      image_size=64),
                      text_cfg=dict(context_length=77,
                                    vocab_size=49408,
                                    width=16,
                                    heads=2,
                                    layers=1))
TINY_TRUNK_CFG = dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32), conv_mlp=False)


@pytest.fixture
def tiny_backbone_cfg():
    """Config dict of the tiny backbone (a fresh copy per test)."""
    return dict(type='OpenCLIPBackbone',
                model_name=TINY_MODEL_NAME,
                model_cfg=copy.deepcopy(TINY_MODEL_CFG),
                trunk_cfg=dict(TINY_TRUNK_CFG))
