import open_clip
import pytest
import timm
from timm.models.convnext import ConvNeXt

from seg.models.backbones import register_convnext_trunk, register_open_clip_config


def test_open_clip_config_registration_is_idempotent_and_refuses_conflicts(tiny_backbone_cfg):
    model_cfg = tiny_backbone_cfg['model_cfg']
    register_open_clip_config('convnext_registration_test', model_cfg)
    register_open_clip_config('convnext_registration_test', model_cfg)
    assert open_clip.get_model_config('convnext_registration_test')['embed_dim'] == 16
    with pytest.raises(ValueError, match='different config'):
        register_open_clip_config('convnext_registration_test', dict(model_cfg, embed_dim=32))
    with pytest.raises(ValueError, match='different config'):
        register_open_clip_config('convnext_large_d_320', model_cfg)
    with pytest.raises(ValueError, match='text_cfg'):
        register_open_clip_config('convnext_incomplete_test', dict(embed_dim=16, vision_cfg={}))


def test_convnext_trunk_registration_builds_the_described_convnext():
    trunk_cfg = dict(depths=(1, 1, 2, 1), dims=(8, 16, 24, 32), conv_mlp=False)
    register_convnext_trunk('convnext_trunk_registration_test', trunk_cfg)
    register_convnext_trunk('convnext_trunk_registration_test', dict(trunk_cfg))
    trunk = timm.create_model('convnext_trunk_registration_test', drop_path_rate=0.1)
    assert isinstance(trunk, ConvNeXt)
    assert [len(stage.blocks) for stage in trunk.stages] == [1, 1, 2, 1]
    assert [info['num_chs'] for info in trunk.feature_info] == [8, 16, 24, 32]
    assert trunk.stages[0].blocks[0].mlp.fc1.weight.dim() == 2  # Linear MLP (conv_mlp=False)
    with pytest.raises(ValueError, match='no pretrained weights'):
        timm.create_model('convnext_trunk_registration_test', pretrained=True)
    with pytest.raises(ValueError, match='different arguments'):
        register_convnext_trunk('convnext_trunk_registration_test',
                                dict(trunk_cfg, dims=(8, 8, 8, 8)))
    with pytest.raises(ValueError, match='already'):
        register_convnext_trunk('convnext_atto', trunk_cfg)
    with pytest.raises(ValueError, match='depths'):
        register_convnext_trunk('convnext_trunk_incomplete_test', dict(dims=(8, 16, 24, 32)))
