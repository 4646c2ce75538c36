import math
import socket
import zlib
from pathlib import Path

import open_clip
import pytest
import torch

from seg.models.backbones import OpenCLIPBackbone, OpenCLIPTextEncoder
from seg.models.backbones import openclip_backbone as backbone_module
from seg.registry import MODELS

REFERENCE_FILE = Path(
    __file__).resolve().parents[2] / 'data' / 'reference_small' / 'backbone_case.pth'


def regenerate_reference_weights(case: dict) -> dict:
    """The reference case's deterministic backbone weights (its README's weight recipe)."""
    weights = {}
    for key, kind in case['weight_kinds'].items():
        seed = zlib.crc32(f"{case['weight_salt']}:{case['weight_key_prefix']}{key}".encode())
        shape = case['weight_shapes'][key]
        z = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        if kind == 'matrix':
            rows = (z * (1 / math.sqrt(math.prod(shape[1:])))).reshape(shape[0], -1)
            value = (rows - rows.mean(dim=1, keepdim=True)).reshape(shape)
        elif kind == 'norm_weight':
            value = 1 + 0.1 * z
        elif kind in ('norm_bias', 'bias'):
            value = 0.02 * z
        elif kind == 'vector':
            value = 0.5 + 0.1 * z
        else:
            raise AssertionError(f'unknown weight kind {kind} of {key}')
        weights[key] = value
    return weights


@pytest.fixture(scope='module')
def reference_backbone():
    case = torch.load(REFERENCE_FILE, weights_only=True)
    backbone = MODELS.build(
        dict(type='OpenCLIPBackbone',
             model_name=case['model_name'],
             model_cfg=case['open_clip_model_cfg'],
             trunk_cfg=case['trunk_cfg']))
    case['weight_shapes'] = {
        key: tuple(value.shape)
        for key, value in backbone.state_dict().items()
    }
    weights = regenerate_reference_weights(case)
    for key, value in weights.items():
        # Guards the regeneration itself (torch RNG, recipe) before any model comparison.
        assert value.double().sum().item() == pytest.approx(case['weight_sums'][key], abs=1e-6), key
        assert value.double().abs().sum().item() == pytest.approx(case['weight_abs_sums'][key],
                                                                  rel=1e-12), key
    backbone.load_state_dict(weights, strict=True)
    return backbone, case


def test_reference_state_dict_keys_match_exactly(reference_backbone):
    backbone, case = reference_backbone
    assert set(backbone.state_dict()) == set(case['weight_kinds'])
    assert not any(
        key.startswith(('transformer.', 'token_embedding', 'text_projection', 'visual.'))
        for key in backbone.state_dict())


def test_reference_backbone_features(reference_backbone):
    backbone, case = reference_backbone
    feats = backbone(case['image'])
    assert len(feats) == 4
    for feat, expected in zip(feats, case['backbone_feats']):
        assert feat.shape == expected.shape
        torch.testing.assert_close(feat, expected, atol=1e-5, rtol=1e-5)


def test_reference_clip_feature_and_head(reference_backbone):
    backbone, case = reference_backbone
    clip_feat = backbone.get_clip_feature(case['backbone_feats'][3])
    torch.testing.assert_close(clip_feat, case['clip_feat'], atol=1e-5, rtol=1e-5)
    embedding = backbone.forward_feat(case['clip_pooled_feat'])
    assert embedding.shape == case['clip_embedding'].shape
    torch.testing.assert_close(embedding, case['clip_embedding'], atol=1e-5, rtol=1e-5)


def test_frozen_backbone_stays_in_eval_without_gradients(tiny_backbone_cfg):
    backbone = MODELS.build(tiny_backbone_cfg)
    backbone.train()
    assert not backbone.training and not any(module.training for module in backbone.modules())
    assert not any(param.requires_grad for param in backbone.parameters())
    images = torch.randn(1, 3, 32, 32, requires_grad=True)
    assert not any(feat.requires_grad for feat in backbone(images))


def test_trainable_backbone_keeps_clip_head_frozen(tiny_backbone_cfg):
    backbone = MODELS.build(dict(tiny_backbone_cfg, frozen=False))
    backbone.train()
    assert backbone.training
    assert all(param.requires_grad for param in backbone.layer1.parameters())
    assert not any(param.requires_grad for param in backbone.head.parameters())
    sum(feat.sum() for feat in backbone(torch.randn(1, 3, 32, 32))).backward()
    assert backbone.stem[0].weight.grad is not None


def test_output_strides_channels_and_out_indices(tiny_backbone_cfg):
    backbone = MODELS.build(tiny_backbone_cfg)
    assert backbone.out_channels == [8, 16, 24, 32] and backbone.embed_dim == 16
    for height, width in ((64, 96), (32, 160)):
        feats = backbone(torch.randn(2, 3, height, width))
        assert [tuple(f.shape)
                for f in feats] == [(2, channels, height // stride, width // stride)
                                    for channels, stride in zip((8, 16, 24, 32), (4, 8, 16, 32))]
    partial = MODELS.build(dict(tiny_backbone_cfg, out_indices=(1, 3)))
    assert partial.out_channels == [16, 32]
    assert [f.shape[1] for f in partial(torch.randn(1, 3, 64, 64))] == [16, 32]
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build(dict(tiny_backbone_cfg, out_indices=(3, 1)))


def test_bad_inputs_give_clear_errors(tiny_backbone_cfg):
    backbone = MODELS.build(tiny_backbone_cfg)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        backbone(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match=r'\(B, Q, 32\)'):
        backbone.forward_feat(torch.randn(1, 5, 24))
    assert backbone.forward_feat(torch.randn(2, 5, 32)).shape == (2, 5, 16)


def test_build_without_pretrained_needs_no_network(tiny_backbone_cfg, monkeypatch):

    def refuse(*args, **kwargs):
        raise AssertionError('network access during build')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    backbone = MODELS.build(tiny_backbone_cfg)
    assert backbone.get_text_encoder()(['a photo of a cat.']).shape == (1, 16)


def _tiny_clip_state_dict(model_name: str, seed: int = 3) -> dict:
    torch.manual_seed(seed)
    return open_clip.create_model(model_name).state_dict()


def test_local_weights_file_loads_visual_and_text_towers(tiny_backbone_cfg, tmp_path):
    model_name = MODELS.build(tiny_backbone_cfg).model_name  # registers it with open_clip
    state_dict = _tiny_clip_state_dict(model_name)
    plain_file, wrapped_file = tmp_path / 'clip.pth', tmp_path / 'ckpt.pth'
    torch.save(state_dict, plain_file)
    torch.save(dict(state_dict={f'module.{k}': v for k, v in state_dict.items()}), wrapped_file)

    for weights_file in (plain_file, wrapped_file):
        backbone = MODELS.build(dict(tiny_backbone_cfg, pretrained=str(weights_file)))
        torch.testing.assert_close(backbone.stem[0].weight,
                                   state_dict['visual.trunk.stem.0.weight'])
        torch.testing.assert_close(backbone.layer4.blocks[0].mlp.fc1.weight,
                                   state_dict['visual.trunk.stages.3.blocks.0.mlp.fc1.weight'])
        torch.testing.assert_close(backbone.head[1].mlp.fc2.weight,
                                   state_dict['visual.head.mlp.fc2.weight'])

    reference_clip = open_clip.create_model(model_name)
    reference_clip.load_state_dict(state_dict)
    texts = ['a photo of a cat.', 'There is a traffic light in the scene']
    tokens = open_clip.get_tokenizer(model_name)(texts)
    encoder = backbone.get_text_encoder()
    assert isinstance(encoder, OpenCLIPTextEncoder)
    encoded = encoder(texts)
    assert encoded.dtype == torch.float32 and encoded.shape == (2, 16)
    torch.testing.assert_close(encoded, reference_clip.encode_text(tokens).detach())


def test_bad_weights_files(tiny_backbone_cfg, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        MODELS.build(dict(tiny_backbone_cfg, pretrained=str(tmp_path / 'missing.pth')))
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(b'not a torch file')
    with pytest.raises(ValueError, match='damaged.pth'):
        MODELS.build(dict(tiny_backbone_cfg, pretrained=str(damaged)))
    partial = tmp_path / 'partial.pth'
    MODELS.build(tiny_backbone_cfg)  # registers the tiny model with open_clip
    state_dict = _tiny_clip_state_dict(tiny_backbone_cfg['model_name'])
    del state_dict['visual.trunk.stem.0.weight']
    torch.save(state_dict, partial)
    with pytest.raises(ValueError, match=r'partial\.pth.*stem\.0\.weight'):
        MODELS.build(dict(tiny_backbone_cfg, pretrained=str(partial)))


def test_pretrained_tag_goes_through_open_clip(tiny_backbone_cfg, monkeypatch):
    calls = []
    MODELS.build(tiny_backbone_cfg)  # registers the tiny model with open_clip
    real_create_model = open_clip.create_model

    def fake_create_model(model_name, pretrained=None, **kwargs):
        # Stands in for the hub download: records the call, returns a tiny random model.
        calls.append((model_name, pretrained, kwargs.get('require_pretrained')))
        return real_create_model(tiny_backbone_cfg['model_name'])

    monkeypatch.setattr(backbone_module.open_clip, 'create_model', fake_create_model)
    backbone = OpenCLIPBackbone('convnext_large_d_320', pretrained='laion2b_s29b_b131k_ft_soup')
    assert calls == [('convnext_large_d_320', 'laion2b_s29b_b131k_ft_soup', True)]
    assert backbone.out_channels == [8, 16, 24, 32]
    with pytest.raises(ValueError, match='laion2b_s29b_b131k_ft_soup'):
        OpenCLIPBackbone('convnext_large_d_320', pretrained='no_such_tag')


def test_only_convnext_models_are_supported(tiny_backbone_cfg):
    with pytest.raises(ValueError, match='ConvNeXt'):
        OpenCLIPBackbone('ViT-B-32')
    with pytest.raises(ValueError, match='unknown open_clip model'):
        OpenCLIPBackbone('no_such_clip_model')
    tiny_cfg = tiny_backbone_cfg['model_cfg']
    resnet_cfg = dict(tiny_cfg,
                      vision_cfg=dict(tiny_cfg['vision_cfg'], timm_model_name='resnet10t'))
    with pytest.raises(ValueError, match='ConvNeXt'):
        OpenCLIPBackbone('resnet_clip_backbone_test', model_cfg=resnet_cfg)


def test_random_text_tower_is_reproducible_and_keeps_global_rng(tiny_backbone_cfg):
    backbone = MODELS.build(tiny_backbone_cfg)
    torch.manual_seed(7)
    expected_next = torch.rand(3)
    torch.manual_seed(7)
    first = backbone.get_text_encoder()(['a photo of a dog.'])
    assert torch.equal(torch.rand(3), expected_next)
    second = backbone.get_text_encoder()(['a photo of a dog.'])
    assert torch.equal(first, second)
    with pytest.raises(ValueError, match='list of strings'):
        backbone.get_text_encoder()('a photo of a dog.')
