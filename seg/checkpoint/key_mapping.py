"""Parameter names of published OMG-Seg checkpoints -> this code base's names.

The reference saves ``backbone.*`` (its OpenCLIP wrapper re-exposes the timm ConvNeXt trunk as
``stem``, ``layer1``..``layer4``, ``norm_pre`` and ``head = [trunk.head, visual.head]``) and
``panoptic_head.*`` (mmdet module names). This code base uses the same names, so the published
files map one to one. Variants handled here:

* wrapper prefixes (``module.`` from DDP, ``model.``);
* the backbone saved under open_clip's own names (``backbone.visual.trunk.stages.0...``), with or
  without a ``clip_model.`` / ``model.`` level;
* timm's ``stages.N`` instead of ``layerN+1``, and the original Facebook ConvNeXt names
  (``downsample_layers``, ``dwconv``, ``pwconv1``...), which timm converts the same way.

Entries that are not model weights here are dropped with a reason (see :data:`DROP_RULES`).
"""
import re
from typing import Callable, List, Optional, Pattern, Tuple, Union

Replacement = Union[str, Callable[[re.Match], str]]

WRAPPER_PREFIXES = ('module.', 'model.')
MODEL_PREFIXES = ('backbone.', 'panoptic_head.', 'prompt_encoder.', 'panoptic_fusion_head.',
                  'data_preprocessor.')

_CLIP_LEVEL = r'(?:clip_model\.|model\.|clip\.)?'


def _stage(match: re.Match) -> str:
    return f'backbone.layer{int(match.group(1)) + 1}.'


def _fb_block(match: re.Match) -> str:
    return f'backbone.layer{int(match.group(1)) + 1}.blocks.{match.group(2)}.'


def _fb_downsample(match: re.Match) -> str:
    return f'backbone.layer{int(match.group(1)) + 1}.downsample.{match.group(2)}'


# Facebook block layer names (``dwconv``, ``pwconv1``...), renamed with the block prefix.
_FB_BLOCK_LAYERS = ((re.compile(r'\.dwconv\.'), '.conv_dw.'),
                    (re.compile(r'\.pwconv1\.'), '.mlp.fc1.'),
                    (re.compile(r'\.pwconv2\.'), '.mlp.fc2.'))

# (pattern, replacement, renames of the rest of the key) applied in order, each at most once.
RENAME_RULES: List[Tuple[Pattern, Replacement, tuple]] = [
    # open_clip names of the CLIP image tower.
    (re.compile(rf'^backbone\.{_CLIP_LEVEL}visual\.trunk\.stem\.'), 'backbone.stem.', ()),
    (re.compile(rf'^backbone\.{_CLIP_LEVEL}visual\.trunk\.stages\.(\d+)\.'), _stage, ()),
    (re.compile(rf'^backbone\.{_CLIP_LEVEL}visual\.trunk\.norm_pre\.'), 'backbone.norm_pre.', ()),
    (re.compile(rf'^backbone\.{_CLIP_LEVEL}visual\.trunk\.head\.'), 'backbone.head.0.', ()),
    (re.compile(rf'^backbone\.{_CLIP_LEVEL}visual\.head\.'), 'backbone.head.1.', ()),
    # timm stage names.
    (re.compile(r'^backbone\.(?:trunk\.)?stages\.(\d+)\.(?=blocks\.|downsample\.)'), _stage, ()),
    # Facebook ConvNeXt names (as timm's checkpoint filter converts them).
    (re.compile(r'^backbone\.downsample_layers\.0\.'), 'backbone.stem.', ()),
    (re.compile(r'^backbone\.downsample_layers\.(\d+)\.(\d+)'), _fb_downsample, ()),
    (re.compile(r'^backbone\.stages\.(\d+)\.(\d+)\.'), _fb_block, _FB_BLOCK_LAYERS),
    (re.compile(r'^backbone\.norm\.'), 'backbone.head.0.norm.', ()),
    # The reference keeps the prompt parameters in its head; here the prompt encoder owns them.
    (re.compile(r'^panoptic_head\.(?=(?:mask_tokens|pb_embedding|pos_linear)\.)'),
     'prompt_encoder.', ()),
]

PROMPT_KEY_PATTERN = re.compile(r'^prompt_encoder\.(mask_tokens|pb_embedding|pos_linear)\.')

# (pattern, reason) for source entries that are not weights of this model.
DROP_RULES: List[Tuple[Pattern, str]] = [
    (re.compile(r'^panoptic_head\.(cls_embed|logit_scale)$'),
     'text classifier buffer: class prototypes come from the vocabulary\'s text embeddings'),
    (re.compile(r'^panoptic_head\.text_classifier\.'),
     'text classifier buffer: class prototypes come from the vocabulary\'s text embeddings'),
    (re.compile(r'^data_preprocessor\.(mean|std)$'),
     'data preprocessor statistics: set in the config (mean / std)'),
    (re.compile(rf'^backbone\.{_CLIP_LEVEL}(transformer\.|token_embedding\.|positional_embedding$'
                r'|ln_final\.|text_projection$|logit_scale$|logit_bias$|attn_mask$)'),
     'CLIP text tower: not part of the segmentation model (text embeddings are generated '
     'from the CLIP weights by tools/gen_cls.py)'),
    (re.compile(r'^backbone\.((?:trunk\.)?head\.fc\.|head\.(weight|bias)$)'),
     'ImageNet classifier of the timm trunk: unused by the segmentation model'),
]
PROMPT_DROP_REASON = ('prompt (interactive) parameters; the target config has no '
                      'prompt_encoder (give model.prompt_encoder to keep point/box prompting)')


def strip_wrapper_prefix(key: str) -> str:
    """Remove DDP / wrapper prefixes (``module.``, ``model.``) in front of a model prefix."""
    changed = True
    while changed:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            rest = key[len(prefix):]
            if key.startswith(prefix) and rest.startswith(MODEL_PREFIXES + WRAPPER_PREFIXES):
                key, changed = rest, True
    return key


def rename_key(key: str) -> str:
    """This code base's name for a source parameter name (unchanged when already ours)."""
    key = strip_wrapper_prefix(key)
    for pattern, replacement, rest_renames in RENAME_RULES:
        key, count = pattern.subn(replacement, key, count=1)
        if count:
            for rest_pattern, rest_name in rest_renames:
                key = rest_pattern.sub(rest_name, key)
    return key


def drop_reason(key: str) -> Optional[str]:
    """Why a (renamed) source entry is not a weight of this model, or None."""
    for pattern, reason in DROP_RULES:
        if pattern.search(key):
            return reason
    return None


def is_prompt_key(key: str) -> bool:
    return bool(PROMPT_KEY_PATTERN.search(key))
