"""Location (point / box) prompts turned into decoder queries (upstream: the box-query path
of ``Mask2FormerVideoHead.forward`` in ``seg/models/heads/mask2former_vid.py``).

A prompt is a box (x1, y1, x2, y2) in pixels of the network input; a click is a zero-size box
at the clicked pixel, which the encoder widens to a ``2 * point_radius`` square (the reference's
6x6 "pseudo box"). Boxes are normalised by a frame (see ``frame``), written as (cx, cy, w, h),
slightly jittered in training, and encoded as:

* positional query = ``pos_linear(sine_encoding(cx, cy, w, h))`` (128 features per coordinate in
  the reference, ``position_feats``);
* content query = ``pb_embedding[type] + mask_tokens[0]`` (type 0 = box, 1 = point), plus, with
  ``content_seed='mask_features'``, the stride-4 mask feature at the prompt's centre (bilinear
  ``point_sample``): without it every prompt of an image starts from the same content and the
  same first mask, so the decoder must find the clicked object through attention alone.

Frames (``frame``): the decoder's memories carry sine codes normalised over the *padded* batch
input (``batch_input_shape``), as do the pixel decoder's codes and reference points. The
reference normalises prompts by each image's valid size (``img_shape``, ``frame='valid'``), so
on padded inputs a click is read at another place than the one clicked; ``frame='padded'``
normalises by the padded input, the frame of every position code it is compared with.

Multi-point prompts: a prompt may carry extra clicks (``points`` (B, N, P, 2) pixel x, y and
``point_labels`` (B, N, P): 1 positive, 0 negative, -1 none) besides its box / first click.
Each becomes a token of the prompt (its own pseudo box position, the point content, a
positive / negative label embedding and, when seeded, its own mask feature): the prompt is then
``1 + P`` queries that see each other (and no other prompt) in self-attention; the first token
(the box / first click) gives the prompt's mask. Needs ``multi_point=True``.

Each prompt sees only itself in self-attention (block-diagonal mask), so the N prompts of an
image are decoded independently in one pass; cross-attention stays the usual masked attention.
Prompt queries replace the learned semantic queries of the head.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

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


FRAMES = ('valid', 'padded')
CONTENT_SEEDS = (None, 'mask_features')


def point_sample(features: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of (B, C, h, w) ``features`` at (B, M, 2) normalised (x, y) in [0, 1]
    of the map's extent (``align_corners=False``); returns (B, M, C)."""
    grid = points[:, :, None] * 2 - 1  # (B, M, 1, 2)
    sampled = F.grid_sample(features, grid.to(features.dtype), mode='bilinear',
                            align_corners=False)
    return sampled.squeeze(-1).transpose(1, 2)


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
        point_radius: half side in pixels of the square a click becomes (reference: 3). It is
            in network-input pixels, so its normalised size follows the input size; training
            and test resize the toy images to the same scale, which keeps it comparable.
        point_type_embedding: give clicks the "point" type embedding (index 1). The reference
            trains and evaluates every prompt, clicks included, with the "box" embedding
            (index 0), so the default keeps that for its checkpoints.
        noise_scale / noise_damping: training jitter ``U(-1, 1) * noise_scale * damping *
            (w/2, h/2, w, h)`` added to the normalised (cx, cy, w, h) (reference: 0.4, 0.01).
        frame: ``'valid'`` (reference: normalise by ``img_shape``) or ``'padded'`` (by the
            padded batch input, the frame of the decoder's position codes); see the module doc.
        content_seed: None (reference) or ``'mask_features'``: add the mask feature at each
            prompt token's centre to its content query (needs ``mask_features`` in forward).
        seed_projection: pass the sampled feature through a learned linear layer first (needed
            when the mask features are narrower / wider than the queries).
        first_layer_mask: keep the masked cross-attention of the first decoder layer for
            prompt queries (reference). Without a content seed, that mask is the same for every
            prompt of an image.
        multi_point: accept extra positive / negative clicks per prompt (a label embedding,
            ``point_label_embedding``, tells them apart).
        corrective_clicks: training only (``PromptTask.loss``), multi-point encoders: the
            probability that a prompt batch first gets one corrective click per prompt, as the
            click protocol gives them: the prompts are decoded without gradients, and a pixel of
            each prompt's larger error (missed object pixels: positive click; wrongly covered
            pixels: negative) becomes an extra click before the supervised pass. Random extra
            clicks alone mostly land where the mask is already right, so they teach the model
            little about corrections. 0 = off.
        locality: add to every prompt token's mask logits ``-beta(q) * d^2``, d the distance
            (normalised by the padded input) of each mask pixel to the token's anchors: its
            box (0 inside) or click and, for the first token, the prompt's positive extra
            clicks; ``beta = exp(locality_scale(q))`` is read from the current query at every
            decoder stage (CondInst-style relative coordinates). The mask features of two
            objects of one class look alike, so a click's content seed alone gives all of
            them; the distance term lets the query keep to the clicked one and a further
            positive click widen it. Needs ``content_seed='mask_features'`` (the map size).
            With extra negative clicks the first token also gets ``-gamma(q) * relu(d^2 -
            d_neg^2)``: pixels nearer to a negative click than to every positive anchor are
            pushed out (``gamma = exp(negative_scale(q))``), so a negative click acts where it
            is put, as a positive one does.
    """

    def __init__(self, feat_channels: int = 256, position_feats: int = 128,
                 point_radius: float = 3.0, point_type_embedding: bool = False,
                 noise_scale: float = 0.4, noise_damping: float = 0.01,
                 frame: str = 'valid', content_seed: Optional[str] = None,
                 seed_projection: bool = False, first_layer_mask: bool = True,
                 multi_point: bool = False, mask_channels: Optional[int] = None,
                 corrective_clicks: float = 0.0, locality: bool = False) -> None:
        super().__init__()
        if point_radius <= 0 or noise_scale < 0 or noise_damping < 0:
            raise ValueError(f'point_radius must be > 0 and the noise settings >= 0, got '
                             f'{point_radius}, {noise_scale}, {noise_damping}')
        if frame not in FRAMES:
            raise ValueError(f'frame must be one of {FRAMES}, got {frame!r}')
        if content_seed not in CONTENT_SEEDS:
            raise ValueError(f'content_seed must be one of {CONTENT_SEEDS}, got '
                             f'{content_seed!r}')
        self.position_feats = int(position_feats)
        self.point_radius = float(point_radius)
        self.point_type_embedding = bool(point_type_embedding)
        self.noise_scale = float(noise_scale)
        self.noise_damping = float(noise_damping)
        self.frame = frame
        self.content_seed = content_seed
        self.first_layer_mask = bool(first_layer_mask)
        self.multi_point = bool(multi_point)
        if not 0.0 <= corrective_clicks <= 1.0 or (corrective_clicks and not multi_point):
            raise ValueError(f'corrective_clicks must lie in [0, 1] and needs multi_point=True, '
                             f'got {corrective_clicks} (multi_point={multi_point})')
        self.corrective_clicks = float(corrective_clicks)
        self.mask_tokens = nn.Embedding(1, feat_channels)
        self.pb_embedding = nn.Embedding(2, feat_channels)  # 0 = box, 1 = point
        self.pos_linear = nn.Linear(4 * position_feats, feat_channels)
        if seed_projection:
            if content_seed is None:
                raise ValueError('seed_projection needs content_seed')
            self.seed_proj = nn.Linear(mask_channels or feat_channels, feat_channels)
        else:
            self.seed_proj = None
        if self.multi_point:
            self.point_label_embedding = nn.Embedding(2, feat_channels)  # 0 neg, 1 pos
        if locality and content_seed is None:
            raise ValueError("locality needs content_seed='mask_features'")
        self.locality = bool(locality)
        if self.locality:
            # beta starts at 10 for every query (a mild pull towards the anchors).
            self.locality_scale = nn.Linear(feat_channels, 1)
            nn.init.zeros_(self.locality_scale.weight)
            nn.init.constant_(self.locality_scale.bias, math.log(10.0))
            if self.multi_point:
                self.negative_scale = nn.Linear(feat_channels, 1)
                nn.init.zeros_(self.negative_scale.weight)
                nn.init.constant_(self.negative_scale.bias, math.log(10.0))

    @property
    def needs_mask_features(self) -> bool:
        return self.content_seed == 'mask_features'

    def normalised_boxes(self, boxes: torch.Tensor, is_point: torch.Tensor,
                         img_shapes: Sequence[Tuple[int, int]]) -> torch.Tensor:
        """(B, N, 4) pixel xyxy -> (B, N, 4) (cx, cy, w, h) divided by the frame size
        (``img_shapes``: the (h, w) of each image's frame)."""
        radius = boxes.new_tensor([-1, -1, 1, 1]) * self.point_radius
        boxes = torch.where(is_point[..., None], boxes + radius, boxes)
        factors = boxes.new_tensor([[w, h, w, h] for h, w in img_shapes])[:, None]
        return boxes_xyxy_to_cxcywh(boxes / factors)

    def frame_shapes(self, img_shapes: Sequence[Tuple[int, int]],
                     pad_shapes: Optional[Sequence[Tuple[int, int]]]
                     ) -> List[Tuple[int, int]]:
        if self.frame == 'valid':
            return [tuple(shape) for shape in img_shapes]
        if pad_shapes is None:
            raise ValueError("PromptEncoder(frame='padded') needs pad_shapes (each sample's "
                             'batch_input_shape)')
        if len(pad_shapes) != len(img_shapes):
            raise ValueError(f'{len(pad_shapes)} pad_shapes for {len(img_shapes)} images')
        return [tuple(shape) for shape in pad_shapes]

    def forward(self, boxes: torch.Tensor, is_point: torch.Tensor,
                img_shapes: Sequence[Tuple[int, int]],
                pad_shapes: Optional[Sequence[Tuple[int, int]]] = None,
                mask_features: Optional[torch.Tensor] = None,
                points: Optional[torch.Tensor] = None,
                point_labels: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Queries of B images with N prompts each (jittered in training mode).

        Args:
            boxes: (B, N, 4) pixel boxes x1, y1, x2, y2 (clicks: x1 = x2, y1 = y2).
            is_point: (B, N) bool, True for clicks.
            img_shapes: (h, w) valid size of each image.
            pad_shapes: (h, w) padded batch input size of each image (``frame='padded'``).
            mask_features: (B, C, h, w) stride-4 mask features of the padded inputs
                (``content_seed='mask_features'``).
            points / point_labels: extra clicks of each prompt, (B, N, P, 2) pixel x, y and
                (B, N, P) long (1 positive, 0 negative, -1 padding); ``multi_point`` only.
        Returns:
            ``query_feat`` / ``query_embed`` (B, N * t, C) with t = 1 + P tokens per prompt,
            ``self_attn_mask`` (N * t, N * t) or, with padded extra clicks, (B, N * t, N * t),
            ``tokens_per_prompt`` (t; the prompt's mask is its first token's), and, for
            inspection, ``box_logits`` (B, N * t, 4) and ``position_encoding``.
        """
        if boxes.dim() != 3 or boxes.shape[-1] != 4 or is_point.shape != boxes.shape[:2]:
            raise ValueError(f'expected boxes (B, N, 4) and is_point (B, N), got '
                             f'{tuple(boxes.shape)} and {tuple(is_point.shape)}')
        if len(img_shapes) != boxes.shape[0]:
            raise ValueError(f'{len(img_shapes)} img_shapes for {boxes.shape[0]} images')
        device = self.pos_linear.weight.device
        boxes = boxes.to(device, torch.float32)
        is_point = is_point.to(device).bool()
        batch, num_prompts = boxes.shape[:2]
        types = (is_point.long() * POINT_TYPE if self.point_type_embedding
                 else torch.full_like(is_point, BOX_TYPE, dtype=torch.long))
        labels = None
        tokens = 1
        if points is not None and points.shape[2] > 0:
            if not self.multi_point:
                raise ValueError('prompts with several clicks need a prompt encoder built with '
                                 'multi_point=True')
            if (points.dim() != 4 or points.shape[:2] != boxes.shape[:2]
                    or points.shape[-1] != 2 or point_labels is None
                    or point_labels.shape != points.shape[:3]):
                raise ValueError(f'expected points (B, N, P, 2) and point_labels (B, N, P) for '
                                 f'{tuple(boxes.shape[:2])} prompts, got '
                                 f'{tuple(points.shape)} and '
                                 f'{None if point_labels is None else tuple(point_labels.shape)}')
            points = points.to(device, torch.float32)
            labels = point_labels.to(device).long()
            tokens = 1 + points.shape[2]
            extra_boxes = torch.cat([points, points], dim=-1)  # (B, N, P, 4)
            boxes = torch.cat([boxes[:, :, None], extra_boxes], dim=2).flatten(1, 2)
            is_point = torch.cat([is_point[:, :, None],
                                  torch.ones_like(labels, dtype=torch.bool)], 2).flatten(1, 2)
            extra_types = torch.full_like(labels, POINT_TYPE if self.point_type_embedding
                                          else BOX_TYPE)
            types = torch.cat([types[:, :, None], extra_types], dim=2).flatten(1, 2)
        frames = self.frame_shapes(img_shapes, pad_shapes)
        cxcywh = self.normalised_boxes(boxes, is_point, frames)
        if self.training and self.noise_scale > 0:
            sizes = cxcywh[..., 2:]
            spread = torch.cat([sizes / 2, sizes], dim=-1) * self.noise_damping
            jitter = (torch.rand_like(cxcywh) * 2 - 1) * spread * self.noise_scale
            cxcywh = (cxcywh + jitter).clamp(min=0.0, max=1.0)
        query_feat = self.pb_embedding(types) + self.mask_tokens.weight[0]
        if self.needs_mask_features:
            query_feat = query_feat + self.content_seed_features(
                mask_features, boxes, frames, pad_shapes)
        if self.multi_point:
            # The first token is positive (a box or the first click); extra clicks by label.
            token_labels = torch.ones(batch, num_prompts, tokens, dtype=torch.long,
                                      device=device)
            if labels is not None:
                token_labels[:, :, 1:] = labels.clamp(min=0)
            query_feat = query_feat + self.point_label_embedding(token_labels.flatten(1, 2))
        # The reference stores the box as a logit and encodes its sigmoid; keep the round trip
        # so the encoding matches its checkpoints to the last bit.
        box_logits = inverse_sigmoid(cxcywh)
        position_encoding = coordinate_to_encoding(box_logits.sigmoid(),
                                                   num_feats=self.position_feats)
        query_embed = self.pos_linear(position_encoding)
        self_attn_mask = prompt_self_attention_mask(num_prompts, tokens, device=device)
        if labels is not None and bool((labels < 0).any()):
            # Padding tokens are seen by nobody (but themselves, so no row is empty).
            valid = torch.cat([torch.ones_like(labels[:, :, :1], dtype=torch.bool),
                               labels >= 0], dim=2).flatten(1, 2)  # (B, N * t)
            eye = torch.eye(num_prompts * tokens, dtype=torch.bool, device=device)
            self_attn_mask = (self_attn_mask[None] | ~valid[:, None, :]) & ~eye
        queries = dict(query_feat=query_feat, query_embed=query_embed,
                       self_attn_mask=self_attn_mask, box_logits=box_logits,
                       position_encoding=position_encoding)
        if tokens > 1:
            queries['tokens_per_prompt'] = tokens
        if not self.first_layer_mask:
            queries['first_layer_mask'] = False
        if self.locality:
            distances, negative = self.anchor_distances(
                boxes, is_point, labels, tokens, pad_shapes, frames, mask_features.shape[-2:])
            queries['mask_logit_bias'] = lambda decoder_out: self.locality_bias(
                decoder_out, distances, negative)
        return queries

    def locality_bias(self, decoder_out: torch.Tensor, distances: torch.Tensor,
                      negative: Optional[torch.Tensor]) -> torch.Tensor:
        """(B, Q, h, w) mask-logit bias of the post-normed queries (see ``locality``)."""
        beta = torch.exp(self.locality_scale(decoder_out).clamp(max=8.0)).unsqueeze(-1)
        bias = -beta * distances
        if negative is not None:
            gamma = torch.exp(self.negative_scale(decoder_out).clamp(max=8.0)).unsqueeze(-1)
            bias = bias - gamma * negative
        return bias

    def anchor_distances(self, boxes: torch.Tensor, is_point: torch.Tensor,
                         labels: Optional[torch.Tensor], tokens: int,
                         pad_shapes: Optional[Sequence[Tuple[int, int]]],
                         frames: Sequence[Tuple[int, int]], size: Sequence[int]
                         ) -> torch.Tensor:
        """(B, N * t, h, w) squared distance of every mask pixel to each token's anchors
        (see ``locality``), in the padded frame, at the mask-feature size ``size``, and the
        first tokens' ``relu(d^2 - d_neg^2)`` to their negative clicks (None without any)."""
        shapes = pad_shapes if pad_shapes is not None else frames
        factors = boxes.new_tensor([[w, h, w, h] for h, w in shapes])[:, None]
        # Pixel index x covers [x, x + 1): clicks are their pixel's centre, boxes as given.
        centre_shift = torch.where(is_point[..., None], boxes.new_tensor(0.5), boxes.new_tensor(0.))
        anchors = (boxes + centre_shift) / factors  # (B, Q, 4)
        batch, queries = anchors.shape[:2]
        anchors = anchors[:, :, None]  # (B, Q, A=1, 4)
        valid = torch.ones(batch, queries, 1, dtype=torch.bool, device=boxes.device)
        negative_valid = None
        if tokens > 1:
            # Row 0 of a prompt (its first token) keeps to all the prompt's positive anchors;
            # row k > 0 (an extra click) to its own click.
            grouped = anchors.view(batch, -1, tokens, 4)  # (B, N, t, 4)
            rows = grouped[:, :, None].expand(-1, -1, tokens, -1, -1).clone()  # (B, N, t, t, 4)
            rows[:, :, 1:, 0] = grouped[:, :, 1:]
            valid = torch.zeros(rows.shape[:4], dtype=torch.bool, device=boxes.device)
            valid[:, :, 0] = torch.cat([torch.ones_like(labels[:, :, :1], dtype=torch.bool),
                                        labels == 1], dim=2)
            valid[:, :, 1:, 0] = True
            negative_valid = torch.zeros_like(valid)
            negative_valid[:, :, 0, 1:] = labels == 0
            anchors, valid = rows.flatten(1, 2), valid.flatten(1, 2)
            negative_valid = negative_valid.flatten(1, 2)
        height, width = (int(v) for v in size)
        ys = (torch.arange(height, device=boxes.device, dtype=boxes.dtype) + 0.5) / height
        xs = (torch.arange(width, device=boxes.device, dtype=boxes.dtype) + 0.5) / width
        x1, y1, x2, y2 = (anchors[..., k, None, None] for k in range(4))  # (B, Q, A, 1, 1)
        dx = torch.clamp(torch.maximum(x1 - xs[None, :], xs[None, :] - x2), min=0)
        dy = torch.clamp(torch.maximum(y1 - ys[:, None], ys[:, None] - y2), min=0)
        squared = dx ** 2 + dy ** 2  # (B, Q, A, h, w)
        positive = squared.masked_fill(~valid[..., None, None], float('inf')).min(dim=2).values
        if negative_valid is None or not bool(negative_valid.any()) or not self.multi_point:
            return positive, None
        nearest_negative = squared.masked_fill(~negative_valid[..., None, None],
                                               float('inf')).min(dim=2).values
        # relu(d_pos^2 - d_neg^2): 0 where no negative click is nearer (inf - finite < 0)
        return positive, torch.clamp(positive - nearest_negative, min=0)

    def content_seed_features(self, mask_features: Optional[torch.Tensor], boxes: torch.Tensor,
                              frames: Sequence[Tuple[int, int]],
                              pad_shapes: Optional[Sequence[Tuple[int, int]]]
                              ) -> torch.Tensor:
        """(B, M, C) mask features at the centres of (B, M, 4) pixel boxes. The mask features
        cover the padded input, so the centres are normalised by ``pad_shapes`` (the padded
        frame) whatever ``frame`` says."""
        if mask_features is None:
            raise ValueError("PromptEncoder(content_seed='mask_features') needs the stride-4 "
                             'mask_features of the images')
        if mask_features.dim() != 4 or mask_features.shape[0] != boxes.shape[0]:
            raise ValueError(f'mask_features must be (B={boxes.shape[0]}, C, h, w), got '
                             f'{tuple(mask_features.shape)}')
        shapes = pad_shapes if pad_shapes is not None else frames
        factors = boxes.new_tensor([[w, h] for h, w in shapes])[:, None]
        # Pixel index x covers [x, x + 1): its centre is x + 0.5.
        centres = ((boxes[..., :2] + boxes[..., 2:]) / 2 + 0.5) / factors
        seeds = point_sample(mask_features, centres.clamp(0.0, 1.0)).to(boxes.dtype)
        return self.seed_proj(seeds) if self.seed_proj is not None else seeds

    def extra_repr(self) -> str:
        return (f'point_radius={self.point_radius}, point_type_embedding='
                f'{self.point_type_embedding}, noise_scale={self.noise_scale}, '
                f'noise_damping={self.noise_damping}, frame={self.frame!r}, content_seed='
                f'{self.content_seed!r}, first_layer_mask={self.first_layer_mask}, '
                f'multi_point={self.multi_point}, corrective_clicks={self.corrective_clicks}, '
                f'locality={self.locality}')


def build_prompt_encoder(cfg: Optional[dict], feat_channels: int) -> Optional[PromptEncoder]:
    """The model's ``prompt_encoder`` config built at the decoder width; None stays None (a
    model without point / box prompts)."""
    if cfg is None:
        return None
    cfg = dict(cfg)
    cfg.setdefault('type', PromptEncoder)
    cfg.setdefault('feat_channels', feat_channels)
    return MODELS.build(cfg)
