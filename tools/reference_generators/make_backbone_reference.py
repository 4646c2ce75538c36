"""Rebuild tests/data/reference_small/backbone_case.pth from the reference case (needs ../shared).

    python tools/reference_generators/make_backbone_reference.py [REFERENCE_CASE_DIR]

Stores one image of the case, the backbone outputs for it, the CLIP-head tensors, the backbone
config and, instead of the 3.4M backbone weights, the recipe that regenerates them plus per-key
sums that check the regeneration (see test_openclip_backbone.py).
"""
import json
from pathlib import Path

from reference_files import case_dir_from_argv, load_case_file, save_fixture

PREFIX = 'backbone.'


def main(case_dir: Path) -> None:
    case = json.loads((case_dir / 'case.json').read_text())
    state_dict = load_case_file(case_dir, 'state_dict.pth')
    kinds = {}
    for line in (case_dir / 'keys.txt').read_text().splitlines():
        fields = line.split('\t')
        if len(fields) >= 4 and fields[0].startswith(PREFIX):
            kinds[fields[0][len(PREFIX):]] = fields[3]
    weights = {
        key[len(PREFIX):]: value
        for key, value in state_dict.items() if key.startswith(PREFIX)
    }
    assert set(kinds) == set(weights)
    inputs = load_case_file(case_dir, 'inputs.pth')
    semantic = load_case_file(case_dir, 'out_semantic.pth')
    openvoc = load_case_file(case_dir, 'out_openvoc.pth')
    backbone_cfg = case['model']['backbone']
    trunk = backbone_cfg['timm_model']
    fixture = dict(
        provenance=(
            'OMG-Seg reference case case_small (lxtGH/OMG-Seg 1ae2e7d, CPU): image 0 of '
            'inputs.pth["images"], its backbone_feats (out_semantic.pth), clip_feat of image '
            '0 and clip_pooled_feat / clip_embedding (out_openvoc.pth). Backbone weights are '
            'regenerated from the case recipe (salt, kind per key) and checked by the sums.'),
        model_name='convnext_base_omgtest',
        open_clip_model_cfg=backbone_cfg['open_clip_model_cfg'],
        trunk_cfg=dict(depths=list(trunk['depths']),
                       dims=list(trunk['dims']),
                       conv_mlp=trunk['conv_mlp']),
        weight_salt='omgref-case_small-v1-s44',
        weight_key_prefix=PREFIX,
        weight_kinds=kinds,
        weight_sums={
            key: float(value.double().sum())
            for key, value in weights.items()
        },
        weight_abs_sums={
            key: float(value.double().abs().sum())
            for key, value in weights.items()
        },
        image=inputs['images'][:1].clone(),
        backbone_feats=[feat[:1].clone() for feat in semantic['backbone_feats']],
        clip_feat=openvoc['clip_feat'][:1].clone(),
        clip_pooled_feat=openvoc['clip_pooled_feat'].clone(),
        clip_embedding=openvoc['clip_embedding'].clone(),
    )
    save_fixture('backbone_case.pth', fixture)


if __name__ == '__main__':
    main(case_dir_from_argv())
