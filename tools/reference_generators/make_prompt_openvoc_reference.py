"""Rebuild tests/data/reference_small/{prompt,openvoc}_case_small.pth (needs ../shared).

    python tools/reference_generators/make_prompt_openvoc_reference.py [REFERENCE_CASE_DIR]

prompt_case_small.pth: the prompts of the reference case (pixel boxes, types, image shapes),
every intermediate of the reference's prompt encoding, the prompt forward's class logits, first
and last mask logits and cross-attention masks, the interactive predict's binary masks, and the
click of the point prompt with the mask it was computed from.

openvoc_case_small.pth: the CLIP head weights of the backbone (the only backbone weights the
open-vocabulary path uses besides the stage-4 map), the stage-4 map of the 2-frame clip, and
the inputs / intermediates / outputs of the reference's ``open_voc_inference`` (images, clip,
forced-empty query 0). The image stage-4 maps and the mask logits come from
head_case_small.pth.
"""
import json
from pathlib import Path

import torch

from seg.registry import MODELS
from reference_files import case_dir_from_argv, load_case_file, save_fixture


def make_prompt_case(case_dir: Path) -> dict:
    inputs = load_case_file(case_dir, 'inputs.pth')
    out = load_case_file(case_dir, 'out_prompt.pth')
    prompts = inputs['prompts']
    return dict(
        provenance='OMG-Seg reference case case_small (lxtGH/OMG-Seg 1ae2e7d, CPU): '
                   'inputs.pth prompts and out_prompt.pth',
        boxes=prompts['point_coords'].clone(), types=prompts['bp'].clone(),
        img_shapes=[tuple(m['img_shape']) for m in inputs['image_metas']],
        ori_shapes=[tuple(m['ori_shape']) for m in inputs['image_metas']],
        batch_input_shape=tuple(inputs['image_metas'][0]['batch_input_shape']),
        point_xy=prompts['point_xy'].clone(),
        point_source_masks=[m.clone() for m in prompts['point_source_masks']],
        query_feat=out['prompt_query_feat'], box_logits=out['prompt_query_bbox_logit'],
        position_encoding=out['prompt_query_pos_encoding'],
        query_embed=out['prompt_query_embed'], self_attn_mask=out['prompt_self_attn_mask'],
        cls_pred=out['cls_pred'], mask_pred=torch.stack([out['mask_pred'][0],
                                                         out['mask_pred'][-1]]),
        cross_attn_masks=list(out['cross_attn_masks']),
        predict_mask_cls=out['predict_mask_cls_results'],
        sam_masks=list(out['model_predict_sam_masks']))


def make_openvoc_case(case_dir: Path) -> dict:
    case = json.loads((case_dir / 'case.json').read_text())
    backbone_cfg = case['model']['backbone']
    trunk = backbone_cfg['timm_model']
    backbone = MODELS.build(dict(
        type='OpenCLIPBackbone', model_name='convnext_base_omgtest',
        model_cfg=backbone_cfg['open_clip_model_cfg'],
        trunk_cfg=dict(depths=list(trunk['depths']), dims=list(trunk['dims']),
                       conv_mlp=trunk['conv_mlp'])))
    state_dict = load_case_file(case_dir, 'state_dict.pth')
    backbone.load_state_dict({k[len('backbone.'):]: v for k, v in state_dict.items()
                              if k.startswith('backbone.')})
    inputs = load_case_file(case_dir, 'inputs.pth')
    with torch.no_grad():
        video_feats = backbone(inputs['video'].flatten(0, 1))
    out = load_case_file(case_dir, 'out_openvoc.pth')
    keys = ('overlapping', 'alpha', 'beta', 'input_mask_cls_results', 'clip_pooled_feat',
            'clip_embedding', 'clip_logit', 'valid_masking', 'open_voc_cls_results',
            'video_input_mask_cls_results', 'video_open_voc_cls_results',
            'extra_forced_invalid_query0_cls_results')
    return dict(
        provenance='OMG-Seg reference case case_small (lxtGH/OMG-Seg 1ae2e7d, CPU): '
                   'out_openvoc.pth; video stage-4 map recomputed with the case weights',
        clip_head_state_dict={k: v.clone() for k, v in backbone.state_dict().items()
                              if k.startswith('head.')},
        video_stage4=video_feats[3].clone(),
        **{key: out[key] for key in keys})


def main(case_dir: Path) -> None:
    for name, content in (('prompt_case_small.pth', make_prompt_case(case_dir)),
                          ('openvoc_case_small.pth', make_openvoc_case(case_dir))):
        save_fixture(name, content)


if __name__ == '__main__':
    main(case_dir_from_argv())
