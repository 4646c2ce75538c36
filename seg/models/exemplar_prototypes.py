"""Embeddings of example masks in the classifier's space ("segment everything like this").

The model classifies a query by the cosine of its decoder class embedding with one prototype
per class (``CosineTextClassifier``). An example mask gives a prototype two ways:

* ``decoder``: the class embedding the decoder would give a query whose mask is the example:
  the semantic query that overlaps the example best (IoU at stride 4) supplies the query state,
  the example mask the pooled pixel features (``OMGHead.class_embedding``, as every query's);
* ``clip``: the frozen CLIP feature map (stride 32) averaged inside the example mask and sent
  through CLIP's head, as the open-vocabulary fusion classifies masks.

Both are unit vectors; ``seg.vocab.exemplar_bank`` averages them over examples.
"""
from typing import Dict, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from .heads.mask_pooling import mask_pool
from .tasks import ImageFeatures


def example_masks_to_input(masks: Tensor, metainfo: Mapping) -> Tensor:
    """(N, H, W) masks at the original image size -> (N, Hp, Wp) coverage in [0, 1] on the
    padded network input (resized to ``img_shape``, zero padding to ``batch_input_shape``)."""
    img_h, img_w = metainfo['img_shape'][:2]
    pad_h, pad_w = metainfo['batch_input_shape'][:2]
    resized = F.interpolate(masks[:, None].float(), size=(int(img_h), int(img_w)),
                            mode='bilinear', align_corners=False)[:, 0]
    return F.pad(resized, (0, int(pad_w) - int(img_w), 0, int(pad_h) - int(img_h)))


def _binary_at(coverage: Tensor, size) -> Tensor:
    """(N, h, w) bool masks of ``coverage`` on a coarser grid: cells at least half covered, or,
    for a mask too small to half-cover any cell, every cell it touches (never empty)."""
    cells = F.interpolate(coverage[:, None], size=tuple(size), mode='area')[:, 0]
    half = cells >= 0.5
    touched = cells > 0
    empty = ~half.flatten(1).any(-1)
    return torch.where(empty[:, None, None], touched, half)


def _as_logits(binary: Tensor) -> Tensor:
    """Bool masks as the mask logits ``mask_pool`` thresholds at 0 (batch dimension added)."""
    return (binary.float() * 2 - 1)[None]


@torch.no_grad()
def exemplar_embeddings(model, features: ImageFeatures, coverage: Tensor) -> Dict[str, Tensor]:
    """Unit ``decoder`` and ``clip`` embeddings (N, D) of N example masks of one image.

    Args:
        model: an ``OMGSegmentor`` (its head, backbone and current weights are used).
        features: ``model.image_features`` of the example image (batch of one).
        coverage: (N, Hp, Wp) masks on the padded network input
            (:func:`example_masks_to_input`), each non-empty.
    """
    if features.batch_size != 1:
        raise ValueError(f'exemplar embeddings take one image, got a batch of '
                         f'{features.batch_size}')
    if coverage.dim() != 3 or tuple(coverage.shape[-2:]) != tuple(features.input_shape):
        raise ValueError(f'example masks must be (N, {features.input_shape[0]}, '
                         f'{features.input_shape[1]}) on the network input, got '
                         f'{tuple(coverage.shape)}')
    empty = (coverage.flatten(1).amax(-1) <= 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f'example masks {empty} are empty')
    coverage = coverage.to(features.mask_features.device, torch.float32)
    head = model.panoptic_head

    decoded = head(features.backbone, pixel_features=features.pixel, inference=True)
    mask_features = features.mask_features
    examples = _binary_at(coverage, mask_features.shape[-2:])  # (N, h, w)
    queries = decoded.predictions[-1].mask_logits[0] > 0  # (Q, h, w)
    flat_examples, flat_queries = examples.flatten(1).float(), queries.flatten(1).float()
    intersection = flat_examples @ flat_queries.T
    union = flat_examples.sum(-1, keepdim=True) + flat_queries.sum(-1) - intersection
    best_query = (intersection / union.clamp(min=1)).argmax(dim=-1)  # (N,)
    query_state = head.transformer_decoder.post_norm(decoded.query_feat[0, best_query])
    decoder = head.class_embedding(query_state[None], mask_features, _as_logits(examples))[0]

    clip_feat = model.backbone.get_clip_feature(features.backbone[-1])
    clip_masks = _binary_at(coverage, clip_feat.shape[-2:])
    clip = model.backbone.forward_feat(mask_pool(clip_feat, _as_logits(clip_masks)))[0]
    return dict(decoder=F.normalize(decoder.float(), dim=-1),
                clip=F.normalize(clip.float(), dim=-1))
