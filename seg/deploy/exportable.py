"""The image path of an ``OMGSegmentor`` as one exportable module.

:class:`ExportableImageModel` runs backbone -> pixel decoder -> mask decoder on one
preprocessed image (normalised and padded as ``SegDataPreprocessor`` does) and returns the
last decoder layer's predictions, with the text embeddings of the model's current vocabulary
(buffers of its text classifier) as constants of the exported program.

In eager mode the forward is exactly the model's (``image_features`` + ``panoptic_head``).
While ``torch.export`` traces it (with symbolic height / width, or static), two spots of the
pixel decoder's deformable attention would pin the program to the example size or stop the
trace, and the module works around them for the duration of the trace only (no model code
changes):

* ``MSDeformAttnPixelDecoder`` builds its ``spatial_shapes`` tensor with
  ``torch.as_tensor`` from the level sizes; a tensor made from symbolic sizes specialises
  them. A ``TorchFunctionMode`` builds the same long tensor from in-graph scalars instead.
* ``ms_deform_attn._level_shapes`` reads the sizes back with ``tensor.tolist()`` (a
  data-dependent value for the exporter); it is swapped for one that returns the level
  sizes of the backbone maps, which the wrapper knows symbolically.

The swap changes a module global of ``seg.models.layers.ms_deform_attn`` while a trace runs:
do not run the same model in another thread during an export.
"""
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from seg.models.layers import ms_deform_attn
from seg.models.layers.ms_deform_attn import MultiScaleDeformableAttention

OUTPUT_NAMES = ('class_logits', 'objectness', 'mask_logits')
INPUT_NAME = 'inputs'


def _has_symbolic(data) -> bool:
    if isinstance(data, (list, tuple)):
        return any(_has_symbolic(item) for item in data)
    return isinstance(data, torch.SymInt)


class _InGraphSizeTensors(TorchFunctionMode):
    """``torch.as_tensor`` / ``torch.tensor`` of (nested lists of) sizes some of which are
    symbolic -> the same tensor computed in the graph from those sizes. Other calls run
    unchanged."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.as_tensor, torch.tensor) and args and _has_symbolic(args[0]):
            dtype = kwargs.get('dtype') or torch.long
            return self._build(args[0], dtype, kwargs.get('device'))
        return func(*args, **kwargs)

    def _build(self, data, dtype: torch.dtype, device) -> Tensor:
        if isinstance(data, (list, tuple)):
            return torch.stack([self._build(item, dtype, device) for item in data])
        return torch.full((), data, dtype=dtype, device=device)


@contextmanager
def _traceable_level_shapes(level_shapes: List[Tuple[object, object]]) -> Iterator[None]:
    """While tracing with symbolic sizes: ``spatial_shapes`` built in the graph and the
    deformable attention's level sizes taken from ``level_shapes`` (see the module doc)."""
    original = ms_deform_attn._level_shapes

    def level_shapes_of(spatial_shapes: Tensor, num_levels: int, num_value) -> list:
        if len(level_shapes) != num_levels:
            raise ValueError(f'the deformable attention samples {num_levels} levels but the '
                             f'pixel decoder encodes {len(level_shapes)}: {level_shapes}')
        torch._check(sum(height * width for height, width in level_shapes) == num_value)
        return list(level_shapes)

    ms_deform_attn._level_shapes = level_shapes_of
    try:
        with _InGraphSizeTensors():
            yield
    finally:
        ms_deform_attn._level_shapes = original


@contextmanager
def _uncompiled_deformable_attention(module: nn.Module) -> Iterator[None]:
    """``impl='compiled'`` (torch.compile inside the graph) traced as the same function
    uncompiled (``points_major``); other impls unchanged."""
    changed = [attention for attention in module.modules()
               if isinstance(attention, MultiScaleDeformableAttention)
               and attention.impl == 'compiled']
    for attention in changed:
        attention.impl = 'points_major'
    try:
        yield
    finally:
        for attention in changed:
            attention.impl = 'compiled'


class ExportableImageModel(nn.Module):
    """``forward(inputs)``: (1, 3, H, W) preprocessed image -> the last decoder layer's
    ``class_logits`` (Q, K+1; last column = no object), ``objectness`` (Q, 1) and
    ``mask_logits`` (Q, H/4, W/4).

    Args:
        model: an ``OMGSegmentor`` with a vocabulary installed (``build_segmentor``,
            ``Predictor.from_config``); put it in eval mode. Its current text embeddings are
            what the exported program classifies against.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if getattr(model, 'vocabulary', None) is None:
            raise RuntimeError('ExportableImageModel needs a model with a vocabulary installed '
                               '(seg.models.build_segmentor or Predictor.from_config)')
        self.model = model

    @property
    def class_names(self) -> Sequence[str]:
        return tuple(self.model.vocabulary.classes)

    @property
    def num_things(self) -> int:
        return self.model.panoptic_head.text_classifier.num_things

    def forward(self, inputs: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        if inputs.dim() != 4 or inputs.shape[0] != 1 or inputs.shape[1] != 3:
            raise ValueError(f'ExportableImageModel takes one (1, 3, H, W) image, got '
                             f'{tuple(inputs.shape)}')
        with _uncompiled_deformable_attention(self.model):
            if not (torch.compiler.is_exporting() or _has_symbolic(tuple(inputs.shape))):
                features = self.model.image_features(inputs)
                pixel = features.pixel
                backbone = features.backbone
            else:
                backbone = self.model.extract_feat(inputs)
                decoder = self.model.panoptic_head.pixel_decoder
                level_shapes = [tuple(backbone[index].shape[-2:])
                                for index in decoder.encoder_level_indices]
                with _traceable_level_shapes(level_shapes):
                    pixel = decoder(backbone)
            last = self.model.panoptic_head(backbone, pixel_features=pixel, inference=True).last
        return last.class_logits[0], last.objectness[0], last.mask_logits[0]
