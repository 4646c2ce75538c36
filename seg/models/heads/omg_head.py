"""The shared mask decoder of OMG-Seg (upstream ``Mask2FormerVideoHead`` in
``seg/models/heads/mask2former_vid.py``).

A pixel decoder turns backbone features into stride-4 mask features and three multi-scale
memories; a masked-attention transformer decoder refines queries; after the query
initialisation and after every layer each query predicts a mask (dot product with the mask
features), a class (cosine with CLIP text embeddings of its mask-pooled feature plus its own
embedding) and an objectness logit. Video clips are handled by folding frames into the batch
for the pixel decoder and stacking them along the height of the mask features, so every query
predicts a tube. Parameter names follow the reference so its checkpoints load unchanged.

The head is the network only: it returns a :class:`DecoderOutput`; losses
(``SetCriterion``), location prompts (``PromptEncoder``) and post-processing live outside it
and are composed by the tasks of ``seg.models.tasks``.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from seg.registry import MODELS
from seg.models.layers import Mask2FormerTransformerDecoder, SinePositionalEncoding3D
from .mask_pooling import mask_pool
from .outputs import DecoderOutput, QueryPredictions
from .text_classifier import REFERENCE_LOGIT_SCALE, CosineTextClassifier


def _mlp(in_channels: int, hidden_channels: int, out_channels: int) -> nn.Sequential:
    """Three linear layers with ReLU in between (indices 0, 2, 4 as the reference)."""
    return nn.Sequential(
        nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
        nn.Linear(hidden_channels, hidden_channels), nn.ReLU(inplace=True),
        nn.Linear(hidden_channels, out_channels))


@MODELS.register_module()
class OMGHead(BaseModule):
    """Pixel decoder + masked-attention decoder; CLIP-text classification and objectness.

    Args:
        in_channels: channels of the 4 backbone maps (strides 4-32).
        feat_channels / out_channels: width of the pixel and transformer decoders / of the
            mask embeddings. The width is written once: sub-configs that leave
            ``embed_dims`` (attention and FFN layers) or ``num_feats`` (positional encodings)
            out get it from here.
        num_queries: learned semantic queries.
        num_transformer_feat_level: memories the decoder attends to in round robin.
        pixel_decoder / transformer_decoder / positional_encoding: sub-module configs.
        clip_embed_dim: dimension D of the text embeddings the class embeddings are compared to.
        logit_scale: log of the fixed cosine temperature factor.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 strides: Sequence[int] = (4, 8, 16, 32),
                 feat_channels: int = 256,
                 out_channels: int = 256,
                 num_queries: int = 300,
                 num_transformer_feat_level: int = 3,
                 pixel_decoder: Optional[dict] = None,
                 enforce_decoder_input_project: bool = False,
                 transformer_decoder: Optional[dict] = None,
                 positional_encoding: Optional[dict] = None,
                 clip_embed_dim: int = 768,
                 logit_scale: float = REFERENCE_LOGIT_SCALE,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pixel_decoder is None or transformer_decoder is None:
            raise ValueError('OMGHead needs `pixel_decoder` and `transformer_decoder` configs')
        self.feat_channels = feat_channels
        self.num_queries = num_queries
        self.num_transformer_feat_level = num_transformer_feat_level

        pixel_decoder = with_width(pixel_decoder, feat_channels)
        pixel_decoder.update(in_channels=list(in_channels), strides=list(strides),
                             feat_channels=feat_channels, out_channels=out_channels)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        transformer_decoder = with_width(transformer_decoder, feat_channels)
        transformer_decoder.setdefault('type', Mask2FormerTransformerDecoder)
        self.transformer_decoder = MODELS.build(transformer_decoder)
        self.num_transformer_decoder_layers = transformer_decoder['num_layers']
        decoder_dims = transformer_decoder['layer_cfg']['cross_attn_cfg']['embed_dims']

        self.decoder_input_projs = nn.ModuleList()
        for _ in range(num_transformer_feat_level):
            if decoder_dims != feat_channels or enforce_decoder_input_project:
                self.decoder_input_projs.append(nn.Conv2d(feat_channels, decoder_dims, 1))
            else:
                self.decoder_input_projs.append(nn.Identity())
        positional_encoding = dict(positional_encoding or dict(normalize=True))
        positional_encoding.setdefault('num_feats', feat_channels // 2)
        self.decoder_positional_encoding = SinePositionalEncoding3D(**positional_encoding)
        self.query_embed = nn.Embedding(num_queries, feat_channels)
        self.query_feat = nn.Embedding(num_queries, feat_channels)
        self.level_embed = nn.Embedding(num_transformer_feat_level, feat_channels)

        self.mask_embed = _mlp(feat_channels, feat_channels, out_channels)
        self.iou_embed = _mlp(feat_channels, feat_channels, 1)
        self.cls_proj = _mlp(feat_channels, feat_channels, clip_embed_dim)
        self.mask_pooling_proj = nn.Sequential(
            nn.LayerNorm(feat_channels), nn.Linear(feat_channels, feat_channels))
        self.text_classifier = CosineTextClassifier(clip_embed_dim, logit_scale)

    def init_weights(self) -> None:
        """Reference initialisation: pixel decoder's own, xavier-normal decoder matrices."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        for module in self.decoder_input_projs:
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        self.pixel_decoder.init_weights()
        for param in self.transformer_decoder.parameters():
            if param.dim() > 1:
                nn.init.xavier_normal_(param)

    # ------------------------------------------------------------------ forward
    def _decoder_memories(self, memories: List[torch.Tensor], batch_size: int,
                          num_frames: int) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Flatten each memory level (frames of a clip concatenated) and its positional code."""
        frames = max(num_frames, 1)
        inputs, positions = [], []
        for level in range(self.num_transformer_feat_level):
            memory = self.decoder_input_projs[level](memories[level])
            tokens = memory.flatten(2).transpose(1, 2)  # (B*T, h*w, C)
            tokens = tokens.unflatten(0, (batch_size, frames)).flatten(1, 2)
            tokens = tokens + self.level_embed.weight[level].view(1, 1, -1)
            padding = tokens.new_zeros((batch_size, frames) + memory.shape[-2:], dtype=torch.bool)
            position = self.decoder_positional_encoding(padding)  # (B, T, C, h, w)
            position = position.transpose(1, 2).flatten(2).transpose(1, 2)  # (B, T*h*w, C)
            inputs.append(tokens)
            positions.append(position.to(tokens.dtype))
        return inputs, positions

    def semantic_queries(self, batch_size: int) -> Dict[str, torch.Tensor]:
        """The learned semantic queries of ``batch_size`` images as :meth:`forward`'s
        ``queries`` (what it uses when none are given)."""
        return dict(query_feat=self.query_feat.weight.unsqueeze(0).expand(batch_size, -1, -1),
                    query_embed=self.query_embed.weight.unsqueeze(0).expand(batch_size, -1, -1))

    def class_embedding(self, decoder_out: torch.Tensor, mask_features: torch.Tensor,
                        mask_logits: torch.Tensor) -> torch.Tensor:
        """(B, Q, D) class embeddings (compared with the text prototypes by cosine) of post-normed
        queries ``decoder_out`` (B, Q, C) whose masks are ``mask_logits`` (B, Q, h, w, pooled
        where > 0): the query state plus the mask-pooled pixel features."""
        pooled = self.mask_pooling_proj(mask_pool(mask_features, mask_logits))
        return self.cls_proj(pooled + decoder_out)

    def _predict_from_queries(self, query_feat: torch.Tensor, mask_features: torch.Tensor,
                              attn_mask_size: Optional[Tuple[int, int]], num_frames: int,
                              mask_logit_bias=None, classify: bool = True,
                              attention_features: Optional[torch.Tensor] = None
                              ) -> Tuple[Optional[QueryPredictions], Optional[torch.Tensor]]:
        """Predictions of the current queries and the next layer's attention mask.

        ``mask_features`` is (B, C, T*h, w) for clips (frames stacked along the height); the
        returned mask logits are unstacked to (B, Q, T, h, w). The attention mask is bool
        (B, 1, Q, T*h'*w'), True blocking a key, shared by the heads; None when
        ``attn_mask_size`` is None (no next layer). ``classify=False`` (intermediate stages at
        inference) skips the mask pooling, class and objectness heads and returns no
        predictions, only the mask.
        ``attention_features`` (``mask_features`` already resized to ``attn_mask_size``, see
        :meth:`_resize_frames`) gives the attention mask without the stride-4 masks.
        """
        decoder_out = self.transformer_decoder.post_norm(query_feat)
        mask_embed = self.mask_embed(decoder_out)
        # prompt queries only (PromptEncoder's locality): added to the logits at stride 4
        bias = mask_logit_bias(decoder_out) if mask_logit_bias is not None else None
        predictions = mask_pred = None
        if classify or attention_features is None:
            mask_pred = torch.einsum('bqc,bchw->bqhw', mask_embed, mask_features)
            if bias is not None:
                mask_pred = mask_pred + bias.to(mask_pred.dtype)
        if classify:
            class_embed = self.class_embedding(decoder_out, mask_features, mask_pred.detach())
            predictions = QueryPredictions(
                class_logits=self.text_classifier(class_embed),
                objectness=self.iou_embed(decoder_out),
                mask_logits=self._unstack_frames(mask_pred, num_frames))
        if attn_mask_size is None:
            return predictions, None

        frames = max(num_frames, 1)
        if attention_features is None:  # the reference's order: resize the stride-4 logits
            attn_logits = self._resize_frames(mask_pred.detach().float(), attn_mask_size,
                                              frames)
        else:
            # Bilinear resizing is linear in the maps, so the dot product with the resized
            # mask features equals the resized logits (to float rounding) at a fraction of
            # the cost: Q x C products per pixel of the small map instead of the stride-4 one.
            attn_logits = torch.einsum('bqc,bchw->bqhw', mask_embed.detach(),
                                       attention_features).float()
            if bias is not None:
                attn_logits = attn_logits + self._resize_frames(bias.detach().float(),
                                                                attn_mask_size, frames)
        attn_mask = attn_logits.flatten(2).sigmoid() < 0.5
        return predictions, attn_mask.unsqueeze(1)

    @staticmethod
    def _resize_frames(maps: torch.Tensor, size: Tuple[int, int], frames: int) -> torch.Tensor:
        """Bilinear resize of (B, X, T*h, w) maps frame by frame to (B, X, T*size[0], size[1])
        (``align_corners=False``, as the reference resizes mask logits)."""
        per_frame = maps.unflatten(2, (frames, -1)).flatten(1, 2)  # (B, X*T, h, w)
        resized = F.interpolate(per_frame, size, mode='bilinear', align_corners=False)
        return resized.unflatten(1, (maps.shape[1], frames)).flatten(2, 3)

    def forward(self, feats: Sequence[torch.Tensor], num_frames: int = 0,
                queries: Optional[Dict[str, torch.Tensor]] = None,
                pixel_features: Optional[Tuple[torch.Tensor, List[torch.Tensor]]] = None,
                inference: bool = False) -> DecoderOutput:
        """Run the pixel decoder and the mask decoder.

        Args:
            feats: backbone maps, frames folded into the batch for clips ((B*T, C, H, W)).
            num_frames: T for clips, 0 for images.
            queries: optional ``query_feat`` / ``query_embed`` (B, N, C) and ``self_attn_mask``
                ((N, N) or per image (B, N, N), True = blocked) replacing the learned semantic
                queries (location prompts, see ``PromptEncoder``; semantic queries and prompts
                together, see ``seg.models.tasks.combined_queries``); ``first_layer_mask``
                False (or a (N,) bool, False for the queries concerned) lets them attend to the
                whole memory in the first layer;
                ``mask_logit_bias`` (a function of the post-normed queries giving (B, N, h, w))
                is added to their mask logits at every stage.
            pixel_features: ``self.pixel_decoder(feats)`` computed beforehand (reused when the
                same images are decoded with several sets of queries, e.g. click rounds).
            inference: only the last stage is classified: the intermediate stages compute
                their masks (the next layer's attention mask) but no class / objectness logits
                (those feed only the auxiliary losses); the output then holds one prediction.
        Returns:
            :class:`DecoderOutput` with ``num_layers + 1`` predictions (query initialisation
            first; only the last with ``inference``) whose masks are at the stride-4
            mask-feature size.
        """
        mask_features, memories = (pixel_features if pixel_features is not None
                                   else self.pixel_decoder(list(feats)))
        frames = max(num_frames, 1)
        batch_size = mask_features.shape[0] // frames
        if num_frames > 0:
            # (B*T, C, h, w) -> (B, C, T*h, w): one mask logit map per query covers the clip.
            mask_features = mask_features.unflatten(0, (batch_size, frames))
            mask_features = mask_features.transpose(1, 2).flatten(2, 3)
        decoder_inputs, decoder_positions = self._decoder_memories(memories, batch_size,
                                                                  num_frames)
        if queries is None:
            queries = self.semantic_queries(batch_size)
        query_feat, query_embed = queries['query_feat'], queries['query_embed']
        self_attn_mask = queries.get('self_attn_mask')
        if self_attn_mask is not None and self_attn_mask.dim() == 3:
            # Per-image masks (B, Q, Q) -> (B, 1, Q, Q): shared by the heads.
            self_attn_mask = self_attn_mask.unsqueeze(1)

        mask_logit_bias = queries.get('mask_logit_bias')
        num_layers = len(self.transformer_decoder.layers)
        # At inference the intermediate stages need their masks only at the memories' sizes
        # (the next attention mask): the mask features are resized to each memory once.
        num_levels = self.num_transformer_feat_level
        attention_features = ([self._resize_frames(mask_features, memories[level].shape[-2:],
                                                   frames) for level in range(num_levels)]
                              if inference else [None] * num_levels)
        prediction, attn_mask = self._predict_from_queries(
            query_feat, mask_features, memories[0].shape[-2:], num_frames, mask_logit_bias,
            classify=not inference or num_layers == 0, attention_features=attention_features[0])
        first_layer_mask = queries.get('first_layer_mask', True)
        if first_layer_mask is not True:
            # Prompt queries may see the whole memory in the first layer (PromptEncoder's
            # first_layer_mask=False): False for all queries or a (Q,) bool per query (semantic
            # queries decoded together with prompts keep theirs).
            keep = torch.as_tensor(first_layer_mask, device=attn_mask.device)
            attn_mask = attn_mask & keep.view(1, 1, -1, 1)
        predictions = [prediction] if prediction is not None else []
        for layer_index, layer in enumerate(self.transformer_decoder.layers):
            level = layer_index % num_levels
            # A query whose mask covers nothing may attend everywhere (Mask2Former).
            fully_blocked = attn_mask.all(dim=-1, keepdim=True)
            attn_mask = attn_mask & ~fully_blocked
            query_feat = layer(
                query=query_feat, key=decoder_inputs[level], value=decoder_inputs[level],
                query_pos=query_embed, key_pos=decoder_positions[level],
                cross_attn_mask=attn_mask, self_attn_mask=self_attn_mask)
            last = layer_index == num_layers - 1
            next_level = (layer_index + 1) % num_levels
            prediction, attn_mask = self._predict_from_queries(
                query_feat, mask_features, None if last else memories[next_level].shape[-2:],
                num_frames, mask_logit_bias, classify=last or not inference,
                attention_features=attention_features[next_level])
            if prediction is not None:
                predictions.append(prediction)
        return DecoderOutput(predictions=predictions, query_feat=query_feat)

    @staticmethod
    def _unstack_frames(mask_pred: torch.Tensor, num_frames: int) -> torch.Tensor:
        return mask_pred.unflatten(2, (num_frames, -1)) if num_frames > 0 else mask_pred


def with_width(cfg: dict, width: int) -> dict:
    """A copy of a sub-module config in which every attention / FFN block without
    ``embed_dims`` and every positional encoding without ``num_feats`` gets the head width
    (``num_feats`` = width / 2: sine features per axis)."""
    cfg = copy.deepcopy(dict(cfg))
    for key, value in list(cfg.items()):
        if isinstance(value, dict):
            value = with_width(value, width)
            if key.endswith('attn_cfg') or key == 'ffn_cfg':
                value.setdefault('embed_dims', width)
            if key == 'positional_encoding':
                value.setdefault('num_feats', width // 2)
            cfg[key] = value
    return cfg
