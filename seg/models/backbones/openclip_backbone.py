"""OpenCLIP ConvNeXt image tower as a 4-scale segmentation backbone.

Follows the reference's ``OpenCLIPBackbone`` (``seg/models/backbones/openclip_backbone.py``).
The CLIP visual tower (a timm ConvNeXt trunk + CLIP projection head) is re-exposed under the
reference's attribute names so state-dict keys match the published checkpoints
(``m2_convl_12e.pth``, ``omg_seg_convl.pth``):
``stem``, ``layer1``..``layer4`` (the four stages), ``norm_pre`` and
``head = Sequential(trunk.head, visual.head)``. The text tower is not part of this module (not in
the state dict, not moved by ``.to()``); :meth:`OpenCLIPBackbone.get_text_encoder` rebuilds it on
demand for text-embedding generation.

Parameter counts of the paper backbone (``convnext_large_d_320``): 199,770,816, all frozen by
default: stem + stages 196,227,264 (trainable with ``frozen=False``) and ``head`` 3,543,552 (head
LayerNorm 3,072 + CLIP projection MLP 3,540,480, always frozen). The text tower (152,001,793) is
not part of the model.
"""
import contextlib
import os
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple

import open_clip
import torch
from timm.models.convnext import ConvNeXt
from torch import nn

from seg.registry import MODELS
from .clip_text_encoder import OpenCLIPTextEncoder
from .model_registration import register_convnext_trunk, register_open_clip_config

_WEIGHT_FILE_SUFFIXES = ('.pt', '.pth', '.bin', '.ckpt', '.safetensors')
# Seed of the text tower of a randomly initialised model, so embedding files are reproducible.
_RANDOM_TEXT_TOWER_SEED = 0


def _is_weight_file_reference(pretrained: str) -> bool:
    """True when ``pretrained`` names a local file rather than an open_clip tag."""
    return (os.path.exists(pretrained) or os.sep in pretrained or '/' in pretrained
            or pretrained.endswith(_WEIGHT_FILE_SUFFIXES))


def load_clip_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read a CLIP state dict (or a checkpoint dict with ``state_dict``) from a local file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file cannot be read or holds no tensor mapping.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f'CLIP weights file not found: {file}')
    try:
        if file.suffix == '.safetensors':
            from safetensors.torch import load_file
            content = load_file(str(file), device='cpu')
        else:
            content = torch.load(file, map_location='cpu', weights_only=True)
    except Exception as err:  # any reader error means the file is damaged or of another kind
        raise ValueError(f'cannot read CLIP weights file {file}: {err}') from err
    if isinstance(content, Mapping) and 'state_dict' in content:
        content = content['state_dict']
    if not isinstance(content, Mapping) or not content or not all(
            isinstance(value, torch.Tensor) for value in content.values()):
        raise ValueError(f'CLIP weights file {file} does not hold a state dict of tensors')
    return {
        key[len('module.'):] if key.startswith('module.') else key: value
        for key, value in content.items()
    }


def _load_weights_file(clip_model: nn.Module, path: str, model_name: str) -> None:
    state_dict = load_clip_state_dict(path)
    try:
        incompatible = clip_model.load_state_dict(state_dict, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise ValueError(
            f'CLIP weights file {path} does not fit model {model_name!r}: {err}') from err
    if incompatible.missing_keys or incompatible.unexpected_keys:
        raise ValueError(
            f'CLIP weights file {path} does not fit model {model_name!r}: '
            f'missing keys {incompatible.missing_keys[:5]} '
            f'({len(incompatible.missing_keys)} in all), '
            f'unexpected keys {incompatible.unexpected_keys[:5]} '
            f'({len(incompatible.unexpected_keys)} in all)')


@MODELS.register_module()
class OpenCLIPBackbone(nn.Module):
    """Frozen (or trainable) OpenCLIP ConvNeXt image tower, its CLIP head and its text tower.

    Args:
        model_name: open_clip model name, e.g. ``'convnext_large_d_320'`` (the paper's).
        pretrained: None (random init, no network), an open_clip tag of ``model_name`` (e.g.
            ``'laion2b_s29b_b131k_ft_soup'``, fetched and cached by open_clip), or a local CLIP
            weights file (state dict or checkpoint with ``state_dict``).
        frozen: eval mode forever, no gradients, forward under ``no_grad`` (all paper configs).
            When False the stem and stages train; ``norm_pre`` and the CLIP head stay frozen.
        out_indices: which of the 4 stages (strides 4, 8, 16, 32) :meth:`forward` returns.
        model_cfg: open_clip model config (``embed_dim``, ``vision_cfg``, ``text_cfg``) registered
            under ``model_name`` first, for models open_clip does not ship.
        trunk_cfg: ConvNeXt arguments (``depths``, ``dims``, ``conv_mlp``...) registered as the timm
            model named by the config's ``vision_cfg.timm_model_name``.
    """

    def __init__(self,
                 model_name: str,
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 model_cfg: Optional[Mapping] = None,
                 trunk_cfg: Optional[Mapping] = None) -> None:
        super().__init__()
        out_indices = tuple(out_indices)
        increasing = list(out_indices) == sorted(set(out_indices))
        if not out_indices or not increasing or not set(out_indices) <= {0, 1, 2, 3}:
            raise ValueError(
                f'out_indices must be increasing stage indices in 0..3, got {out_indices}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise ValueError(
                f'pretrained must be None, an open_clip tag or a file path, got {pretrained!r}')
        self.model_name = model_name
        self.pretrained = pretrained
        self.frozen = frozen
        self.out_indices = out_indices

        if ':' in model_name:
            raise ValueError(
                f'model_name {model_name!r}: schema names (hf-hub:, local-dir:) are not supported; '
                f'use an open_clip model name with pretrained=<tag or weights file>')
        if model_cfg is not None:
            register_open_clip_config(model_name, model_cfg)
        clip_cfg = open_clip.get_model_config(model_name)
        if clip_cfg is None:
            known = [name for name in open_clip.list_models() if 'convnext' in name.lower()]
            raise ValueError(
                f'unknown open_clip model {model_name!r}: pass model_cfg to describe it; '
                f'open_clip ConvNeXt models: {known}')
        trunk_name = clip_cfg['vision_cfg'].get('timm_model_name')
        if trunk_name is None:
            raise ValueError(
                f'OpenCLIPBackbone supports ConvNeXt image towers only; {model_name!r} has no timm '
                f'trunk (vision_cfg: {clip_cfg["vision_cfg"]})')
        if trunk_cfg is not None:
            register_convnext_trunk(trunk_name, trunk_cfg)
        self.embed_dim = int(clip_cfg['embed_dim'])

        visual = self._build_clip_model().visual
        trunk = visual.trunk
        if not isinstance(trunk, ConvNeXt):
            raise ValueError(
                f'OpenCLIPBackbone supports ConvNeXt image towers only; {model_name!r} uses '
                f'timm model {trunk_name!r} ({type(trunk).__name__})')
        self.stem = trunk.stem
        self.layer1, self.layer2, self.layer3, self.layer4 = trunk.stages
        self.norm_pre = trunk.norm_pre
        # [timm head: avg-pool, LayerNorm2d, (no fc)] then [CLIP projection MLP].
        self.head = nn.Sequential(trunk.head, visual.head)
        stage_channels = [info['num_chs'] for info in trunk.feature_info]
        self.out_channels = [stage_channels[i] for i in out_indices]
        self.clip_feature_channels = stage_channels[-1]

        if pretrained is None:
            self._init_stem_bias()
        if frozen:
            self.requires_grad_(False)
        else:
            self.norm_pre.requires_grad_(False)
            self.head.requires_grad_(False)
        self.train(False)

    def _init_stem_bias(self) -> None:
        """Random init only: a small random stem bias instead of timm's zeros.

        With zero bias, zero-padded image regions give an all-zero stem output, the LayerNorm
        that follows divides by sqrt(eps) there, and training from scratch sees gradients of
        ~1e10 on the stem (which gradient clipping then spreads over every parameter).
        """
        stem_conv = self.stem[0]
        if isinstance(stem_conv, nn.Conv2d) and stem_conv.bias is not None:
            with torch.no_grad():
                stem_conv.bias.normal_(0.0, 0.02)

    def _build_clip_model(self) -> nn.Module:
        """Build the whole open_clip model with the configured weights (tag, file or random)."""
        if self.pretrained is None:
            return open_clip.create_model(self.model_name, pretrained=None)
        if _is_weight_file_reference(self.pretrained):
            clip_model = open_clip.create_model(self.model_name, pretrained=None)
            _load_weights_file(clip_model, self.pretrained, self.model_name)
            return clip_model
        if not open_clip.get_pretrained_cfg(self.model_name, self.pretrained):
            known_tags = open_clip.list_pretrained_tags_by_model(self.model_name)
            raise ValueError(
                f'{self.pretrained!r} is neither a file nor an open_clip tag of '
                f'{self.model_name!r} (known tags: {known_tags})')
        # open_clip resolves the tag to its hub repository and caches the download.
        return open_clip.create_model(self.model_name,
                                      pretrained=self.pretrained,
                                      require_pretrained=True)

    def init_weights(self) -> None:
        """Weights come from construction (CLIP checkpoint or random init); never re-initialised."""

    def train(self, mode: bool = True) -> 'OpenCLIPBackbone':
        """A frozen backbone stays in eval mode whatever the runner asks."""
        return super().train(mode and not self.frozen)

    def _grad_context(self) -> contextlib.AbstractContextManager:
        return torch.no_grad() if self.frozen else contextlib.nullcontext()

    @property
    def weight_dtype(self) -> torch.dtype:
        """The dtype the tower runs in: float32, or bfloat16 after ``backbone.to(bfloat16)``
        (bf16 inference: see ``seg.models.precision``)."""
        return self.stem[0].weight.dtype

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W) normalised images -> stage maps at strides 4/8/16/32 (``out_indices``).

        The tower runs in its weights' dtype; the maps come back in the images' dtype."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(
                f'OpenCLIPBackbone expects (B, 3, H, W) images, got {tuple(images.shape)}')
        outputs = []
        with self._grad_context():
            x = self.stem(images.to(self.weight_dtype))
            for index, stage in enumerate((self.layer1, self.layer2, self.layer3, self.layer4)):
                x = stage(x)
                if index in self.out_indices:
                    outputs.append(x.to(images.dtype))
        return tuple(outputs)

    def get_clip_feature(self, stage4_map: torch.Tensor) -> torch.Tensor:
        """CLIP dense features for mask pooling: ``norm_pre`` of the stride-32 map (B, C, h, w)."""
        with self._grad_context():
            return self.norm_pre(stage4_map.to(self.weight_dtype)).to(stage4_map.dtype)

    def forward_feat(self, pooled: torch.Tensor) -> torch.Tensor:
        """Mask-pooled CLIP features (B, Q, C) -> CLIP-space embeddings (B, Q, D) (CLIP head)."""
        if pooled.dim() != 3 or pooled.shape[-1] != self.clip_feature_channels:
            raise ValueError(
                f'forward_feat expects (B, Q, {self.clip_feature_channels}) features, got '
                f'{tuple(pooled.shape)}')
        batch, queries, channels = pooled.shape
        with self._grad_context():
            embeddings = self.head(pooled.reshape(batch * queries, channels, 1, 1)
                                   .to(self.weight_dtype))
        return embeddings.reshape(batch, queries, -1).to(pooled.dtype)

    def get_text_encoder(self) -> OpenCLIPTextEncoder:
        """Build the CLIP text tower of this model (same weights source) on the CPU.

        Rebuilt on each call so the (large) text tower never sits in the training model. With
        ``pretrained=None`` it is randomly initialised from a fixed seed (reproducible files,
        global RNG untouched).
        """
        if self.pretrained is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(_RANDOM_TEXT_TOWER_SEED)
                clip_model = self._build_clip_model()
        else:
            clip_model = self._build_clip_model()
        tokenizer = open_clip.get_tokenizer(self.model_name)
        return OpenCLIPTextEncoder(clip_model, tokenizer, self.model_name, self.embed_dim)

    def extra_repr(self) -> str:
        return (f'model_name={self.model_name!r}, pretrained={self.pretrained!r}, '
                f'frozen={self.frozen}, out_indices={self.out_indices}')
