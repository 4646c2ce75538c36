"""Location (point / box) prompts turned into decoder queries (reference section 1.5).

A prompt is a box (x1, y1, x2, y2) in pixels of the network input; a click is a zero-size box
at the clicked pixel, which the encoder widens to a ``2 * point_radius`` square (the reference's
6x6 "pseudo box"). Boxes are normalised by the image's valid size (``img_shape``), written as
(cx, cy, w, h), slightly jittered in training, and encoded as:

* positional query = ``pos_linear(sine_encoding(cx, cy, w, h))`` (128 features per coordinate in
  the reference, ``head.prompt_position_feats``);
* content query = ``pb_embedding[type] + mask_tokens[0]`` (type 0 = box, 1 = point).

Each prompt becomes one query that sees only itself in self-attention (block-diagonal mask),
so the N prompts of an image are decoded independently in one pass; cross-attention stays the
usual masked attention. Prompt queries replace the learned semantic queries of the head.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import InstanceData

from seg.models.layers import coordinate_to_encoding

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


def point_prompts(points: torch.Tensor) -> InstanceData:
    """Click prompts from (N, 2) pixel coordinates (x, y) of the network input."""
    points = torch.as_tensor(points, dtype=torch.float32)
    if points.dim() != 2 or points.shape[-1] != 2:
        raise ValueError(f'points must have shape (N, 2) (x, y), got {tuple(points.shape)}')
    return InstanceData(boxes=torch.cat([points, points], dim=-1),
                        is_point=torch.ones(len(points), dtype=torch.bool))


def box_prompts(boxes: torch.Tensor) -> InstanceData:
    """Box prompts from (N, 4) pixel boxes (x1, y1, x2, y2) of the network input."""
    boxes = torch.as_tensor(boxes, dtype=torch.float32)
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f'boxes must have shape (N, 4) (x1, y1, x2, y2), got '
                         f'{tuple(boxes.shape)}')
    return InstanceData(boxes=boxes, is_point=torch.zeros(len(boxes), dtype=torch.bool))


def stack_sample_prompts(data_samples: Sequence, pad: bool = False
                         ) -> Tuple[torch.Tensor, torch.Tensor, List[Tuple[int, int]], List[int]]:
    """Boxes (B, N, 4), is_point (B, N), img_shapes and prompt counts of a prompt batch.

    Every sample must carry ``prompts`` (``InstanceData`` with ``boxes`` and ``is_point``), at
    least one. The decoder stacks them, so the counts must be equal unless ``pad``: then
    shorter samples repeat their last prompt up to the largest count (prompts are decoded
    independently, so padding changes no other prompt's output; drop the padded rows).
    """
    boxes, is_point, img_shapes = [], [], []
    for index, sample in enumerate(data_samples):
        if 'prompts' not in sample:
            raise KeyError(f'sample {index} ({sample.metainfo.get("img_path")}) has no prompts')
        prompts = sample.prompts
        for key in ('boxes', 'is_point'):
            if key not in prompts:
                raise KeyError(f'sample {index}: prompts lack {key!r} (have {prompts.keys()})')
        if prompts.boxes.dim() != 2 or prompts.boxes.shape[-1] != 4 or len(prompts) == 0:
            raise ValueError(f'sample {index}: prompts.boxes must be (N >= 1, 4), got '
                             f'{tuple(prompts.boxes.shape)}')
        if 'img_shape' not in sample.metainfo:
            raise KeyError(f'sample {index}: metainfo lacks img_shape (prompts are '
                           'normalised by it)')
        boxes.append(prompts.boxes.float())
        is_point.append(prompts.is_point.bool())
        img_shapes.append(tuple(int(v) for v in sample.metainfo['img_shape'][:2]))
    counts = [len(b) for b in boxes]
    if len(set(counts)) != 1:
        if not pad:
            raise ValueError(f'every sample of a prompt batch needs the same number of '
                             f'prompts, got {counts}')
        longest = max(counts)
        boxes = [torch.cat([b, b[-1:].expand(longest - len(b), -1)]) for b in boxes]
        is_point = [torch.cat([f, f[-1:].expand(longest - len(f))]) for f in is_point]
    return torch.stack(boxes), torch.stack(is_point), img_shapes, counts


class PromptEncoder:
    """Turns prompts into the ``queries`` dict of :meth:`OMGHead.forward`.

    The learned parameters (``mask_tokens``, ``pb_embedding``, ``pos_linear``) live in the head
    (checkpoint names as the reference); this object only holds the encoding settings.

    Args:
        point_radius: half side in pixels of the square a click becomes (reference: 3).
        point_type_embedding: give clicks the "point" type embedding (index 1). The reference
            trains and evaluates every prompt, clicks included, with the "box" embedding
            (index 0), so the default keeps that for its checkpoints.
        noise_scale / noise_damping: training jitter ``U(-1, 1) * noise_scale * damping *
            (w/2, h/2, w, h)`` added to the normalised (cx, cy, w, h) (reference: 0.4, 0.01).
    """

    def __init__(self, point_radius: float = 3.0, point_type_embedding: bool = False,
                 noise_scale: float = 0.4, noise_damping: float = 0.01) -> None:
        if point_radius <= 0 or noise_scale < 0 or noise_damping < 0:
            raise ValueError(f'point_radius must be > 0 and the noise settings >= 0, got '
                             f'{point_radius}, {noise_scale}, {noise_damping}')
        self.point_radius = float(point_radius)
        self.point_type_embedding = bool(point_type_embedding)
        self.noise_scale = float(noise_scale)
        self.noise_damping = float(noise_damping)

    def normalised_boxes(self, boxes: torch.Tensor, is_point: torch.Tensor,
                         img_shapes: Sequence[Tuple[int, int]]) -> torch.Tensor:
        """(B, N, 4) pixel xyxy -> (B, N, 4) (cx, cy, w, h) divided by the image size."""
        radius = boxes.new_tensor([-1, -1, 1, 1]) * self.point_radius
        boxes = torch.where(is_point[..., None], boxes + radius, boxes)
        factors = boxes.new_tensor([[w, h, w, h] for h, w in img_shapes])[:, None]
        return boxes_xyxy_to_cxcywh(boxes / factors)

    def __call__(self, head, boxes: torch.Tensor, is_point: torch.Tensor,
                 img_shapes: Sequence[Tuple[int, int]], training: bool = False
                 ) -> Dict[str, torch.Tensor]:
        """Queries of B images with N prompts each.

        Args:
            head: an ``OMGHead`` built with ``enable_prompt_queries=True``.
            boxes: (B, N, 4) pixel boxes x1, y1, x2, y2 (clicks: x1 = x2, y1 = y2).
            is_point: (B, N) bool, True for clicks.
            img_shapes: (h, w) valid size of each image.
            training: add the box jitter.
        Returns:
            ``query_feat`` / ``query_embed`` (B, N, C), ``self_attn_mask`` (N, N) and, for
            inspection, ``box_logits`` (B, N, 4) and ``position_encoding`` (B, N, 4 * feats).
        """
        if not getattr(head, 'enable_prompt_queries', False):
            raise ValueError('the head has no prompt parameters: build it with '
                             'enable_prompt_queries=True')
        if boxes.dim() != 3 or boxes.shape[-1] != 4 or is_point.shape != boxes.shape[:2]:
            raise ValueError(f'expected boxes (B, N, 4) and is_point (B, N), got '
                             f'{tuple(boxes.shape)} and {tuple(is_point.shape)}')
        if len(img_shapes) != boxes.shape[0]:
            raise ValueError(f'{len(img_shapes)} img_shapes for {boxes.shape[0]} images')
        boxes = boxes.to(head.pos_linear.weight.device, torch.float32)
        is_point = is_point.to(boxes.device)
        cxcywh = self.normalised_boxes(boxes, is_point, img_shapes)
        if training and self.noise_scale > 0:
            sizes = cxcywh[..., 2:]
            spread = torch.cat([sizes / 2, sizes], dim=-1) * self.noise_damping
            jitter = (torch.rand_like(cxcywh) * 2 - 1) * spread * self.noise_scale
            cxcywh = (cxcywh + jitter).clamp(min=0.0, max=1.0)
        types = (is_point.long() * POINT_TYPE if self.point_type_embedding
                 else torch.full_like(is_point, BOX_TYPE, dtype=torch.long))
        query_feat = head.pb_embedding(types) + head.mask_tokens.weight[0]
        # The reference stores the box as a logit and encodes its sigmoid; keep the round trip
        # so the encoding matches its checkpoints to the last bit.
        box_logits = inverse_sigmoid(cxcywh)
        position_encoding = coordinate_to_encoding(box_logits.sigmoid(),
                                                   num_feats=head.prompt_position_feats)
        query_embed = head.pos_linear(position_encoding)
        self_attn_mask = prompt_self_attention_mask(boxes.shape[1], device=boxes.device)
        return dict(query_feat=query_feat, query_embed=query_embed,
                    self_attn_mask=self_attn_mask, box_logits=box_logits,
                    position_encoding=position_encoding)

    def __repr__(self) -> str:
        return (f'PromptEncoder(point_radius={self.point_radius}, point_type_embedding='
                f'{self.point_type_embedding}, noise_scale={self.noise_scale}, '
                f'noise_damping={self.noise_damping})')
