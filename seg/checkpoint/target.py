"""The weights a model config expects, without allocating them.

``OMGSegmentor``'s state dict is its backbone's, its head's and its prompt encoder's (the
post-processor and the data preprocessor hold no persistent tensors; the text classifier's
prototypes are non-persistent buffers). :class:`SegmentorWeights` builds exactly these
children as the segmentor does,
on PyTorch's ``meta`` device: a ConvNeXt-XXL model costs no memory and a second or two, and no
pretrained weights or text embeddings are needed.
"""
import contextlib
import copy
from typing import Dict, Iterator, Mapping, Tuple

import open_clip
import torch
from torch import nn

from seg.models.heads import build_prompt_encoder
from seg.registry import MODELS


@contextlib.contextmanager
def _meta_open_clip() -> Iterator[None]:
    """open_clip moves the model it builds to a device; keep it on ``meta``."""
    create_model = open_clip.create_model

    def create_on_meta(*args, **kwargs):
        kwargs['device'] = 'meta'
        return create_model(*args, **kwargs)

    open_clip.create_model = create_on_meta
    try:
        yield
    finally:
        open_clip.create_model = create_model


class SegmentorWeights(nn.Module):
    """The parameter-holding children of an ``OMGSegmentor`` config (``backbone``,
    ``panoptic_head`` and ``prompt_encoder``), built like the segmentor builds them, on the
    ``meta`` device (shapes only, no pretrained weights read).

    Args:
        model_cfg: the ``model`` dict of a config (``type='OMGSegmentor'``).
    """

    def __init__(self, model_cfg: Mapping) -> None:
        super().__init__()
        for key in ('backbone', 'panoptic_head'):
            if key not in model_cfg:
                raise KeyError(f'model config lacks {key!r} (has {sorted(model_cfg)})')
        backbone_cfg = copy.deepcopy(dict(model_cfg['backbone']))
        backbone_cfg['pretrained'] = None  # shapes only: never download or read weights
        with _meta_context():
            self.backbone = MODELS.build(backbone_cfg)
            head_cfg = copy.deepcopy(dict(model_cfg['panoptic_head']))
            head_cfg.update(in_channels=list(self.backbone.out_channels),
                            clip_embed_dim=self.backbone.embed_dim)
            self.panoptic_head = MODELS.build(head_cfg)
            self.prompt_encoder = build_prompt_encoder(
                copy.deepcopy(model_cfg.get('prompt_encoder')), self.panoptic_head.feat_channels)

    def state_shapes(self) -> Dict[str, Tuple[int, ...]]:
        return {key: tuple(value.shape) for key, value in self.state_dict().items()}

    def check_loads(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """``load_state_dict(strict=True)`` (tensors assigned, nothing copied); raises
        ``RuntimeError`` on any missing, unexpected or reshaped entry."""
        self.load_state_dict(state_dict, strict=True, assign=True)


@contextlib.contextmanager
def _meta_context() -> Iterator[None]:
    with torch.device('meta'), _meta_open_clip():
        yield


def expected_state_shapes(model_cfg: Mapping) -> Dict[str, Tuple[int, ...]]:
    """``{parameter name: shape}`` of the model a config builds (meta device, no memory)."""
    return SegmentorWeights(model_cfg).state_shapes()
