"""Typed outputs of the mask decoder (``OMGHead``).

Shapes use B images (or clips), Q queries, K classes of the current vocabulary, C channels,
h x w the stride-4 mask-feature size and T frames for clips.
"""
from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn.functional as F


@dataclass
class QueryPredictions:
    """What every query predicts at one decoder stage.

    Attributes:
        class_logits: (B, Q, K + 1) cosine logits against the text prototypes; the last
            column is "no object" (its logit is 0: the background prototype is all-zero).
        objectness: (B, Q, 1) objectness logit (class-agnostic "is this a segment").
        mask_logits: (B, Q, h, w) for images, (B, Q, T, h, w) for clips.
    """
    class_logits: torch.Tensor
    objectness: torch.Tensor
    mask_logits: torch.Tensor

    @property
    def num_classes(self) -> int:
        """K, the real classes (the no-object column not counted)."""
        return self.class_logits.shape[-1] - 1

    def upsampled(self, size: Sequence[int]) -> 'QueryPredictions':
        """The same predictions with mask logits resized (bilinear) to ``size`` (the padded
        input size), frame by frame for clips."""
        masks = self.mask_logits
        frames = masks.shape[2] if masks.dim() == 5 else 0
        flat = masks.flatten(1, 2) if frames else masks
        flat = F.interpolate(flat, size=tuple(size), mode='bilinear', align_corners=False)
        if frames:
            flat = flat.unflatten(1, (masks.shape[1], frames))
        return QueryPredictions(self.class_logits, self.objectness, flat)

    def queries(self, index) -> 'QueryPredictions':
        """Predictions of the queries picked by ``index`` (a slice or index tensor over Q)."""
        return QueryPredictions(self.class_logits[:, index], self.objectness[:, index],
                                self.mask_logits[:, index])

    def select(self, index: int) -> 'QueryPredictions':
        """Predictions of batch element ``index`` (batch dimension kept)."""
        window = slice(index, index + 1)
        return QueryPredictions(self.class_logits[window], self.objectness[window],
                                self.mask_logits[window])


@dataclass
class DecoderOutput:
    """Everything one decoder pass produces.

    Attributes:
        predictions: one :class:`QueryPredictions` after the query initialisation and one
            after every decoder layer (``num_layers + 1`` in all); the last is the output,
            the others feed the auxiliary losses.
        query_feat: (B, Q, C) query features after the last layer (before the post-norm):
            the embeddings that link queries across video tubes.
    """
    predictions: List[QueryPredictions]
    query_feat: torch.Tensor

    @property
    def last(self) -> QueryPredictions:
        return self.predictions[-1]

    def queries(self, index) -> 'DecoderOutput':
        """The output of the queries picked by ``index`` (a slice or index tensor over Q) at
        every stage."""
        return DecoderOutput(predictions=[p.queries(index) for p in self.predictions],
                             query_feat=self.query_feat[:, index])
