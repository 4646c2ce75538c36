"""Reference cases: outputs of the published OMG-Seg code saved at reduced size.

A case folder (layout ``omgseg-reference-case/1``) holds ``case.json`` (the reduced config, the
tolerances and a description of every saved tensor), ``state_dict.pth`` (reference key names),
``text_classifier.pth``, ``inputs.pth`` and ``out_*.pth``. :func:`build_case_model` builds this
code base's model from ``case.json`` (plus the reference's saved classifier temperature, see
:func:`case_logit_scale`): the small timm ConvNeXt trunk and the open_clip model config it
describes are registered at run time, and the state dict goes through the checkpoint
converter before a ``strict=True`` load.
"""
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch

from seg.checkpoint.convert import ConversionReport, convert_state_dict
from seg.checkpoint.reading import read_checkpoint_weights
from seg.engine.checkpoint_loading import load_checkpoint_file
from seg.models import build_segmentor

CASE_FORMAT = 'omgseg-reference-case/1'
CASE_FILES = ('case.json', 'state_dict.pth', 'text_classifier.pth', 'inputs.pth')


@dataclass
class ReferenceCase:
    """A case folder and its parsed ``case.json``."""
    root: Path
    description: Dict[str, Any]

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def model(self) -> Dict[str, Any]:
        return self.description['model']

    @property
    def tolerances(self) -> Dict[str, Any]:
        return self.description['tolerances']

    def load(self, file_name: str) -> Any:
        """A case file (dicts / lists of tensors and plain values), read with
        ``weights_only=True`` and the checkpoint allow-list like every other file."""
        path = self.root / file_name
        if not path.is_file():
            raise FileNotFoundError(f'reference case {self.root} lacks {file_name}')
        return load_checkpoint_file(str(path))

    def has(self, file_name: str) -> bool:
        return (self.root / file_name).is_file()


def load_case(case_dir: Union[str, Path]) -> ReferenceCase:
    """Open a case folder; raises ``FileNotFoundError`` / ``ValueError`` naming what is wrong."""
    root = Path(case_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f'reference case folder not found: {root}')
    missing = [name for name in CASE_FILES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f'reference case {root} lacks {missing}')
    try:
        description = json.loads((root / 'case.json').read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f'{root / "case.json"}: invalid json ({error})') from error
    if description.get('format') != CASE_FORMAT:
        raise ValueError(f'{root / "case.json"}: format {description.get("format")!r}, '
                         f'expected {CASE_FORMAT!r}')
    for key in ('model', 'tolerances', 'files'):
        if key not in description:
            raise ValueError(f'{root / "case.json"} lacks {key!r}')
    return ReferenceCase(root, description)


def _require(mapping: Mapping, key: str, where: str) -> Any:
    if key not in mapping:
        raise KeyError(f'case.json {where} lacks {key!r} (has {sorted(mapping)})')
    return mapping[key]


def _backbone_cfg(case: ReferenceCase) -> dict:
    backbone = case.model['backbone']
    trunk = _require(backbone, 'timm_model', 'model.backbone')
    clip_cfg = _require(backbone, 'open_clip_model_cfg', 'model.backbone')
    if trunk.get('class') not in (None, 'timm ConvNeXt'):
        raise ValueError(f'case backbone trunk {trunk.get("class")!r}: only timm ConvNeXt is '
                         'supported')
    trunk_name = _require(trunk, 'name', 'model.backbone.timm_model')
    if clip_cfg['vision_cfg'].get('timm_model_name') != trunk_name:
        raise ValueError(f'case backbone: open_clip vision_cfg names trunk '
                         f'{clip_cfg["vision_cfg"].get("timm_model_name")!r}, timm_model is '
                         f'{trunk_name!r}')
    # The open_clip model name is ours: derived from the config so two cases never clash.
    digest = hashlib.sha1(json.dumps(clip_cfg, sort_keys=True).encode()).hexdigest()[:10]
    model_name = re.sub(r'\W', '_', f'omgref_case_{trunk_name}_{digest}')
    return dict(type='OpenCLIPBackbone', model_name=model_name, pretrained=None,
                frozen=bool(backbone.get('frozen', True)), model_cfg=clip_cfg,
                trunk_cfg=dict(depths=list(trunk['depths']), dims=list(trunk['dims']),
                               conv_mlp=bool(trunk.get('conv_mlp', False))))


def case_logit_scale(case: ReferenceCase) -> float:
    """The classifier's log temperature: the reference's saved buffer when the case has it
    (the published code uses the literal 4.6052, which ``case.json`` describes as ln 100)."""
    described = float(case.model['head'].get('logit_scale', math.log(100.0)))
    if case.has('nonpersistent_buffers.pth'):
        buffers = case.load('nonpersistent_buffers.pth')
        if 'logit_scale' in buffers:
            return float(buffers['logit_scale'])
    return described


def _head_cfg(case: ReferenceCase) -> dict:
    model = case.model
    channels = int(model['feat_channels'])
    pixel = model['pixel_decoder']
    decoder = model['transformer_decoder']
    head = model['head']
    if pixel.get('norm', 'GroupNorm') != 'GroupNorm':
        raise ValueError(f'case pixel decoder norm {pixel["norm"]!r}: only GroupNorm is '
                         'supported')
    for flag, wanted in (('sphere_cls', True), ('objectness_branch', True)):
        if head.get(flag, wanted) != wanted:
            raise ValueError(f'case head {flag}={head[flag]}: this code base implements '
                             f'{flag}={wanted} only (the paper model)')
    if head.get('enable_box_query') and head.get('num_mask_tokens', 1) != 1:
        raise ValueError(f'case head num_mask_tokens={head["num_mask_tokens"]}: one prompt '
                         'token is supported')
    ffn = dict(embed_dims=channels, num_fcs=2, ffn_drop=0.0,
               act_cfg=dict(type='ReLU', inplace=True))
    attention = dict(embed_dims=channels, num_heads=int(decoder['heads']), dropout=0.0,
                     batch_first=True)
    return dict(
        type='OMGHead', feat_channels=channels, out_channels=int(model['out_channels']),
        num_queries=int(model['num_queries']),
        num_transformer_feat_level=int(model['num_transformer_feat_level']),
        pixel_decoder=dict(
            type='MSDeformAttnPixelDecoder', num_outs=int(pixel['num_outs']),
            norm_cfg=dict(type='GN', num_groups=int(pixel['gn_groups'])),
            act_cfg=dict(type=pixel.get('act', 'ReLU')),
            encoder=dict(num_layers=int(pixel['encoder_layers']), layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=channels, num_heads=int(pixel['heads']),
                                   num_levels=int(pixel['levels']),
                                   num_points=int(pixel['points']), dropout=0.0,
                                   batch_first=True),
                ffn_cfg=dict(ffn, feedforward_channels=int(pixel['ffn_channels'])))),
            positional_encoding=dict(num_feats=int(pixel['positional_encoding_num_feats']),
                                     normalize=bool(pixel['positional_encoding_normalize']))),
        positional_encoding=dict(num_feats=int(decoder['positional_encoding_num_feats']),
                                 normalize=bool(decoder['positional_encoding_normalize'])),
        transformer_decoder=dict(num_layers=int(decoder['layers']), return_intermediate=True,
                                 layer_cfg=dict(self_attn_cfg=attention,
                                                cross_attn_cfg=dict(attention),
                                                ffn_cfg=dict(ffn, feedforward_channels=int(
                                                    decoder['ffn_channels'])))),
        logit_scale=case_logit_scale(case))


def _prompt_encoder_cfg(case: ReferenceCase) -> Optional[dict]:
    head = case.model['head']
    if not head.get('enable_box_query', False):
        return None
    # The reference's prompt path, written out (issue 14 added switches with these defaults):
    # prompts normalised by the valid image size, content = embeddings only, first-layer
    # attention mask kept, one click or box per prompt.
    return dict(type='PromptEncoder', point_radius=3, point_type_embedding=False,
                frame='valid', content_seed=None, first_layer_mask=True, multi_point=False,
                position_feats=int(
                    head.get('prompt_position_encoding_num_feats_per_coordinate', 128)))


def case_model_config(case: ReferenceCase) -> dict:
    """This code base's ``OMGSegmentor`` config for the case (from ``case.json`` only)."""
    model = case.model
    num_things = int(model['num_things_classes'])
    num_stuff = int(model['num_stuff_classes'])
    preprocessor = model['data_preprocessor']
    inputs = case.description.get('inputs', {})
    return dict(
        type='OMGSegmentor',
        data_preprocessor=dict(type='SegDataPreprocessor', mean=list(preprocessor['mean']),
                               std=list(preprocessor['std']),
                               bgr_to_rgb=bool(preprocessor['bgr_to_rgb']),
                               pad_size_divisor=int(preprocessor['pad_size_divisor']),
                               pad_value=preprocessor['pad_value']),
        backbone=_backbone_cfg(case),
        vocabulary=dict(thing_classes=[f'thing{i}' for i in range(num_things)],
                        stuff_classes=[f'stuff{i}' for i in range(num_stuff)],
                        name=f'reference_{case.name}'),
        text_embeddings=dict(file=str(case.root / model['text_classifier']['file'])),
        panoptic_head=_head_cfg(case),
        postprocessor=dict(type='QueryPostprocessor'),
        test_cfg=dict(model['test_cfg']),
        # The reference runs a clip as one tube.
        video_cfg=dict(whole_clip_thr=int(inputs.get('video_T', 1))),
        prompt_encoder=_prompt_encoder_cfg(case))


def build_case_model(case: ReferenceCase) -> Tuple[torch.nn.Module, ConversionReport]:
    """(model in eval mode with the case weights, conversion report).

    Raises ``ValueError`` listing the problems when the reference state dict does not convert,
    ``RuntimeError`` from the ``strict=True`` load.
    """
    model = build_segmentor(case_model_config(case))
    source = read_checkpoint_weights(case.root / 'state_dict.pth').state_dict
    target_shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    converted, report = convert_state_dict(source, target_shapes)
    problems = report.problems()
    if problems:
        raise ValueError(f'reference state dict of {case.root} does not convert:\n- '
                         + '\n- '.join(problems))
    model.load_state_dict(converted, strict=True)
    return model.eval(), report


__all__ = ['ReferenceCase', 'load_case', 'case_model_config', 'case_logit_scale',
           'build_case_model']
