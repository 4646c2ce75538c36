"""The converter maps every parameter of the paper models (ConvNeXt-L / XXL).

The source checkpoints are synthetic: the key names and shapes of the reference's state dict
(``OpenCLIPBackbone`` as ``backbone.*``, ``Mask2FormerVideoHead`` as ``panoptic_head.*``), held
as meta tensors (shapes only, no memory); the target shapes come from the model configs built on
the meta device.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from seg.checkpoint import convert_state_dict, describe_source, expected_state_shapes, rename_key

CONFIG_ROOT = Path(__file__).resolve().parents[2] / 'configs'
CONFIGS = CONFIG_ROOT / '_base_' / 'models'
CONVNEXT_L = dict(dims=(192, 384, 768, 1536), depths=(3, 3, 27, 3), clip_dim=768,
                  clip_head='mlp')
CONVNEXT_XXL = dict(dims=(384, 768, 1536, 3072), depths=(3, 4, 30, 3), clip_dim=1024,
                    clip_head='linear')


def backbone_keys(dims, depths, clip_dim, clip_head):
    keys = {'stem.0.weight': (dims[0], 3, 4, 4), 'stem.0.bias': (dims[0],),
            'stem.1.weight': (dims[0],), 'stem.1.bias': (dims[0],)}
    for stage, (channels, depth) in enumerate(zip(dims, depths)):
        prefix = f'layer{stage + 1}.'
        if stage:
            keys.update({prefix + 'downsample.0.weight': (dims[stage - 1],),
                         prefix + 'downsample.0.bias': (dims[stage - 1],),
                         prefix + 'downsample.1.weight': (channels, dims[stage - 1], 2, 2),
                         prefix + 'downsample.1.bias': (channels,)})
        for block in range(depth):
            name = f'{prefix}blocks.{block}.'
            keys.update({name + 'conv_dw.weight': (channels, 1, 7, 7),
                         name + 'conv_dw.bias': (channels,), name + 'norm.weight': (channels,),
                         name + 'norm.bias': (channels,),
                         name + 'mlp.fc1.weight': (4 * channels, channels),
                         name + 'mlp.fc1.bias': (4 * channels,),
                         name + 'mlp.fc2.weight': (channels, 4 * channels),
                         name + 'mlp.fc2.bias': (channels,), name + 'gamma': (channels,)})
    last = dims[-1]
    keys.update({'head.0.norm.weight': (last,), 'head.0.norm.bias': (last,)})
    if clip_head == 'mlp':
        keys.update({'head.1.mlp.fc1.weight': (last, last), 'head.1.mlp.fc1.bias': (last,),
                     'head.1.mlp.fc2.weight': (clip_dim, last)})
    else:
        keys['head.1.proj.weight'] = (clip_dim, last)
    return {'backbone.' + key: shape for key, shape in keys.items()}


def head_keys(dims, clip_dim, prompts=True, channels=256, queries=300):
    keys = {}
    for index, in_channels in enumerate(reversed(dims[1:])):
        keys.update({f'pixel_decoder.input_convs.{index}.conv.weight': (channels, in_channels,
                                                                         1, 1),
                     f'pixel_decoder.input_convs.{index}.conv.bias': (channels,),
                     f'pixel_decoder.input_convs.{index}.gn.weight': (channels,),
                     f'pixel_decoder.input_convs.{index}.gn.bias': (channels,)})
    for layer in range(6):
        name = f'pixel_decoder.encoder.layers.{layer}.'
        for module, out in (('sampling_offsets', 192), ('attention_weights', 96),
                            ('value_proj', channels), ('output_proj', channels)):
            keys[f'{name}self_attn.{module}.weight'] = (out, channels)
            keys[f'{name}self_attn.{module}.bias'] = (out,)
        keys.update({name + 'ffn.layers.0.0.weight': (1024, channels),
                     name + 'ffn.layers.0.0.bias': (1024,),
                     name + 'ffn.layers.1.weight': (channels, 1024),
                     name + 'ffn.layers.1.bias': (channels,)})
        for norm in range(2):
            keys[f'{name}norms.{norm}.weight'] = keys[f'{name}norms.{norm}.bias'] = (channels,)
    keys.update({'pixel_decoder.level_encoding.weight': (3, channels),
                 'pixel_decoder.lateral_convs.0.conv.weight': (channels, dims[0], 1, 1),
                 'pixel_decoder.lateral_convs.0.gn.weight': (channels,),
                 'pixel_decoder.lateral_convs.0.gn.bias': (channels,),
                 'pixel_decoder.output_convs.0.conv.weight': (channels, channels, 3, 3),
                 'pixel_decoder.output_convs.0.gn.weight': (channels,),
                 'pixel_decoder.output_convs.0.gn.bias': (channels,),
                 'pixel_decoder.mask_feature.weight': (channels, channels, 1, 1),
                 'pixel_decoder.mask_feature.bias': (channels,)})
    for layer in range(9):
        name = f'transformer_decoder.layers.{layer}.'
        for attention in ('self_attn', 'cross_attn'):
            keys.update({f'{name}{attention}.attn.in_proj_weight': (3 * channels, channels),
                         f'{name}{attention}.attn.in_proj_bias': (3 * channels,),
                         f'{name}{attention}.attn.out_proj.weight': (channels, channels),
                         f'{name}{attention}.attn.out_proj.bias': (channels,)})
        keys.update({name + 'ffn.layers.0.0.weight': (2048, channels),
                     name + 'ffn.layers.0.0.bias': (2048,),
                     name + 'ffn.layers.1.weight': (channels, 2048),
                     name + 'ffn.layers.1.bias': (channels,)})
        for norm in range(3):
            keys[f'{name}norms.{norm}.weight'] = keys[f'{name}norms.{norm}.bias'] = (channels,)
    keys.update({'transformer_decoder.post_norm.weight': (channels,),
                 'transformer_decoder.post_norm.bias': (channels,),
                 'query_embed.weight': (queries, channels),
                 'query_feat.weight': (queries, channels), 'level_embed.weight': (3, channels),
                 'mask_pooling_proj.0.weight': (channels,),
                 'mask_pooling_proj.0.bias': (channels,),
                 'mask_pooling_proj.1.weight': (channels, channels),
                 'mask_pooling_proj.1.bias': (channels,)})
    for mlp, out in (('mask_embed', channels), ('iou_embed', 1), ('cls_proj', clip_dim)):
        for index, width in ((0, channels), (2, channels), (4, out)):
            keys[f'{mlp}.{index}.weight'] = (width, channels)
            keys[f'{mlp}.{index}.bias'] = (width,)
    if prompts:  # the reference keeps the prompt parameters in its head
        keys.update({'mask_tokens.weight': (1, channels), 'pb_embedding.weight': (2, channels),
                     'pos_linear.weight': (channels, 512), 'pos_linear.bias': (channels,)})
    return {'panoptic_head.' + key: shape for key, shape in keys.items()}


PROMPT_KEYS = ['mask_tokens.weight', 'pb_embedding.weight', 'pos_linear.bias', 'pos_linear.weight']


def reference_checkpoint(spec, prompts=True):
    shapes = {**backbone_keys(**spec), **head_keys(spec['dims'], spec['clip_dim'], prompts)}
    return {key: torch.empty(shape, device='meta') for key, shape in shapes.items()}


def paper_model_cfg(name: str, prompts: bool) -> dict:
    model = Config.fromfile(str(CONFIGS / name)).model.to_dict()
    model['prompt_encoder'] = dict(type='PromptEncoder') if prompts else None
    return model


@pytest.fixture(scope='module')
def convnext_l_shapes():
    return expected_state_shapes(paper_model_cfg('omg_convl.py', prompts=True))


def test_every_parameter_of_the_convnext_l_paper_model_is_mapped(convnext_l_shapes):
    source = reference_checkpoint(CONVNEXT_L)
    converted, report = convert_state_dict(source, convnext_l_shapes)
    assert report.problems() == []
    assert set(converted) == set(convnext_l_shapes)
    # Everything maps one to one; only the prompt parameters change prefix.
    assert sorted(report.renamed.values()) == ['prompt_encoder.' + key for key in PROMPT_KEYS]
    assert not report.dropped
    assert describe_source(source) == dict(stem_channels=192, has_prompt_parameters=True)


def test_wrapper_prefixes_and_open_clip_names_are_renamed(convnext_l_shapes):
    source = reference_checkpoint(CONVNEXT_L)
    variant = {}
    for key, value in source.items():
        key = key.replace('backbone.stem.', 'backbone.visual.trunk.stem.')
        key = key.replace('backbone.layer3.', 'backbone.visual.trunk.stages.2.')
        key = key.replace('backbone.head.1.', 'backbone.visual.head.')
        variant['module.' + key] = value
    variant['module.panoptic_head.cls_embed'] = torch.empty(768, 134, 1, device='meta')
    variant['module.data_preprocessor.mean'] = torch.empty(3, 1, 1, device='meta')
    converted, report = convert_state_dict(variant, convnext_l_shapes)
    assert report.problems() == []
    assert set(converted) == set(convnext_l_shapes)
    assert report.mapped['module.backbone.visual.trunk.stages.2.blocks.26.gamma'] == \
        'backbone.layer3.blocks.26.gamma'
    assert set(report.dropped) == {'module.panoptic_head.cls_embed',
                                   'module.data_preprocessor.mean'}


def test_facebook_convnext_names_are_renamed():
    assert rename_key('backbone.stages.1.4.dwconv.weight') == \
        'backbone.layer2.blocks.4.conv_dw.weight'
    assert rename_key('backbone.stages.0.2.pwconv2.bias') == \
        'backbone.layer1.blocks.2.mlp.fc2.bias'
    assert rename_key('backbone.downsample_layers.0.1.weight') == 'backbone.stem.1.weight'
    assert rename_key('backbone.downsample_layers.2.1.weight') == \
        'backbone.layer3.downsample.1.weight'
    assert rename_key('backbone.stages.3.downsample.0.bias') == 'backbone.layer4.downsample.0.bias'


def test_prompt_parameters_follow_the_target_config(convnext_l_shapes):
    without_prompts = expected_state_shapes(paper_model_cfg('omg_convl.py', prompts=False))
    converted, report = convert_state_dict(reference_checkpoint(CONVNEXT_L), without_prompts)
    assert report.problems() == []
    assert sorted(report.dropped) == ['panoptic_head.' + key for key in PROMPT_KEYS]
    assert all('prompt_encoder' in reason for reason in report.dropped.values())

    _, report = convert_state_dict(reference_checkpoint(CONVNEXT_L, prompts=False),
                                   convnext_l_shapes)
    problems = report.problems()
    assert len(problems) == 1 and 'prompt_encoder=None' in problems[0]
    assert 'prompt_encoder.pos_linear.weight' in report.missing


def test_unknown_entries_and_wrong_model_are_reported(convnext_l_shapes):
    source = reference_checkpoint(CONVNEXT_L)
    source['panoptic_head.some_new_branch.weight'] = torch.empty(4, device='meta')
    _, report = convert_state_dict(source, convnext_l_shapes)
    assert report.unknown == ['panoptic_head.some_new_branch.weight']
    assert 'unknown' in report.problems()[0]
    assert report.problems(allow_unknown=True) == []

    _, report = convert_state_dict(reference_checkpoint(CONVNEXT_XXL), convnext_l_shapes)
    mismatched = {key for key, _, _ in report.shape_mismatch}
    assert {'backbone.stem.0.weight', 'panoptic_head.cls_proj.4.weight'} <= mismatched
    assert any('another shape' in problem for problem in report.problems())


def test_release_configs_take_the_published_weights(convnext_l_shapes):
    """The eval configs of the released models expect exactly the published layout."""
    model = Config.fromfile(str(CONFIG_ROOT / 'omg_seg' / 'omg_convl_coco_panoptic_eval.py')).model
    assert model.panoptic_head.logit_scale == 4.6052  # the reference's literal value
    assert expected_state_shapes(model.to_dict()) == convnext_l_shapes


def test_every_parameter_of_the_convnext_xxl_model_is_mapped():
    config = CONFIG_ROOT / 'omg_seg' / 'omg_convxxl_coco_panoptic_eval.py'
    shapes = expected_state_shapes(Config.fromfile(str(config)).model.to_dict())
    source = reference_checkpoint(CONVNEXT_XXL)
    converted, report = convert_state_dict(source, shapes)
    assert report.problems() == []
    assert set(converted) == set(shapes)
    assert shapes['panoptic_head.pixel_decoder.input_convs.0.conv.weight'] == (256, 3072, 1, 1)
    assert shapes['panoptic_head.cls_proj.4.weight'] == (1024, 256)
