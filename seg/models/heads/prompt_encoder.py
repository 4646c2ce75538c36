"""Location (point / box) prompts turned into decoder queries (upstream: the box-query path
of ``Mask2FormerVideoHead.forward`` in ``seg/models/heads/mask2former_vid.py``).

A prompt is a box (x1, y1, x2, y2) in pixels of the network input; a click is a zero-size box
at the clicked pixel, which the encoder widens to a ``2 * point_radius`` square (the reference's
6x6 "pseudo box"). Boxes are normalised by the image's valid size (``img_shape``), written as
(cx, cy, w, h), slightly jittered in training, and encoded as:

* positional query = ``pos_linear(sine_encoding(cx, cy, w, h))`` (128 features per coordinate in
  the reference, ``position_feats``);
* content query = ``pb_embedding[type] + mask_tokens[0]`` (type 0 = box, 1 = point).

Each prompt becomes one query that sees only itself in self-attention (block-diagonal mask),
so the N prompts of an image are decoded independently in one pass; cross-attention stays the
usual masked attention. Prompt queries replace the learned semantic queries of the head.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from seg.models.layers import coordinate_to_encoding
from seg.registry import MODELS

BOX_TYPE, POINT_TYPE = 0, 1


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Logit of values clamped to [0, 1] (mmdet's ``inverse_sigmoid``)."""
    x = x.clamp(min=0, max=1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


def prompt_self_attention_mask(num_prompts: int, tokens_per_prompt: int = 1,
                               device: Optional[torch.device] = None) -> torch.Tensor:
    """(N*t, N*t) bool mask, True = blocked: the tokens of a prompt only see each other."""
    if num_prompts < 1 or tokens_per_prompt < 1:
        raise ValueError(f'need at least one prompt and one token per prompt, got '
                         f'num_prompts={num_prompts}, tokens_per_prompt={tokens_per_prompt}')
    owner = torch.arange(num_prompts, device=device).repeat_interleave(tokens_per_prompt)
    return owner[:, None] != owner[None, :]


def boxes_xyxy_to_cxcywh(boxes: torch.Tensor) -> torch.Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


@MODELS.register_module()
class PromptEncoder(nn.Module):
    """Turns prompts into the ``queries`` of :meth:`OMGHead.forward`; owns the prompt
    parameters (checkpoint names ``prompt_encoder.mask_tokens`` / ``pb_embedding`` /
    ``pos_linear``; the reference keeps them under ``panoptic_head.``, which the checkpoint
    converter renames).

    Args:
        feat_channels: query width (the head's ``feat_channels``; filled in by the segmentor).
        position_feats: sine features per box coordinate (128 in the reference, whatever the
            width).
        point_radius: half side in pixels of the square a click becomes (reference: 3).
        point_type_embedding: give clicks the "point" type embedding (index 1). The reference
            trains and evaluates every prompt, clicks included, with the "box" embedding
            (index 0), so the default keeps that for its checkpoints.
        noise_scale / noise_damping: training jitter ``U(-1, 1) * noise_scale * damping *
            (w/2, h/2, w, h)`` added to the normalised (cx, cy, w, h) (reference: 0.4, 0.01).
    """

    def __init__(self, feat_channels: int = 256, position_feats: int = 128,
                 point_radius: float = 3.0, point_type_embedding: bool = False,
                 noise_scale: float = 0.4, noise_damping: float = 0.01) -> None:
        super().__init__()
        if point_radius <= 0 or noise_scale < 0 or noise_damping < 0:
            raise ValueError(f'point_radius must be > 0 and the noise settings >= 0, got '
                             f'{point_radius}, {noise_scale}, {noise_damping}')
        self.position_feats = int(position_feats)
        self.point_radius = float(point_radius)
        self.point_type_embedding = bool(point_type_embedding)
        self.noise_scale = float(noise_scale)
        self.noise_damping = float(noise_damping)
        self.mask_tokens = nn.Embedding(1, feat_channels)
        self.pb_embedding = nn.Embedding(2, feat_channels)  # 0 = box, 1 = point
        self.pos_linear = nn.Linear(4 * position_feats, feat_channels)

    def normalised_boxes(self, boxes: torch.Tensor, is_point: torch.Tensor,
                         img_shapes: Sequence[Tuple[int, int]]) -> torch.Tensor:
        """(B, N, 4) pixel xyxy -> (B, N, 4) (cx, cy, w, h) divided by the image size."""
        radius = boxes.new_tensor([-1, -1, 1, 1]) * self.point_radius
        boxes = torch.where(is_point[..., None], boxes + radius, boxes)
        factors = boxes.new_tensor([[w, h, w, h] for h, w in img_shapes])[:, None]
        return boxes_xyxy_to_cxcywh(boxes / factors)

    def forward(self, boxes: torch.Tensor, is_point: torch.Tensor,
                img_shapes: Sequence[Tuple[int, int]]) -> Dict[str, torch.Tensor]:
        """Queries of B images with N prompts each (jittered in training mode).

        Args:
            boxes: (B, N, 4) pixel boxes x1, y1, x2, y2 (clicks: x1 = x2, y1 = y2).
            is_point: (B, N) bool, True for clicks.
            img_shapes: (h, w) valid size of each image.
        Returns:
            ``query_feat`` / ``query_embed`` (B, N, C), ``self_attn_mask`` (N, N) and, for
            inspection, ``box_logits`` (B, N, 4) and ``position_encoding`` (B, N, 4 * feats).
        """
        if boxes.dim() != 3 or boxes.shape[-1] != 4 or is_point.shape != boxes.shape[:2]:
            raise ValueError(f'expected boxes (B, N, 4) and is_point (B, N), got '
                             f'{tuple(boxes.shape)} and {tuple(is_point.shape)}')
        if len(img_shapes) != boxes.shape[0]:
            raise ValueError(f'{len(img_shapes)} img_shapes for {boxes.shape[0]} images')
        boxes = boxes.to(self.pos_linear.weight.device, torch.float32)
        is_point = is_point.to(boxes.device)
        cxcywh = self.normalised_boxes(boxes, is_point, img_shapes)
        if self.training and self.noise_scale > 0:
            sizes = cxcywh[..., 2:]
            spread = torch.cat([sizes / 2, sizes], dim=-1) * self.noise_damping
            jitter = (torch.rand_like(cxcywh) * 2 - 1) * spread * self.noise_scale
            cxcywh = (cxcywh + jitter).clamp(min=0.0, max=1.0)
        types = (is_point.long() * POINT_TYPE if self.point_type_embedding
                 else torch.full_like(is_point, BOX_TYPE, dtype=torch.long))
        query_feat = self.pb_embedding(types) + self.mask_tokens.weight[0]
        # The reference stores the box as a logit and encodes its sigmoid; keep the round trip
        # so the encoding matches its checkpoints to the last bit.
        box_logits = inverse_sigmoid(cxcywh)
        position_encoding = coordinate_to_encoding(box_logits.sigmoid(),
                                                   num_feats=self.position_feats)
        query_embed = self.pos_linear(position_encoding)
        self_attn_mask = prompt_self_attention_mask(boxes.shape[1], device=boxes.device)
        return dict(query_feat=query_feat, query_embed=query_embed,
                    self_attn_mask=self_attn_mask, box_logits=box_logits,
                    position_encoding=position_encoding)

    def extra_repr(self) -> str:
        return (f'point_radius={self.point_radius}, point_type_embedding='
                f'{self.point_type_embedding}, noise_scale={self.noise_scale}, '
                f'noise_damping={self.noise_damping}')


def build_prompt_encoder(cfg: Optional[dict], feat_channels: int) -> Optional[PromptEncoder]:
    """The model's ``prompt_encoder`` config built at the decoder width; None stays None (a
    model without point / box prompts)."""
    if cfg is None:
        return None
    cfg = dict(cfg)
    cfg.setdefault('type', PromptEncoder)
    cfg.setdefault('feat_channels', feat_channels)
    return MODELS.build(cfg)
