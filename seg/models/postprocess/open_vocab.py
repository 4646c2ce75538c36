"""Open-vocabulary fusion with the frozen CLIP backbone (upstream ``Mask2formerVideo`` with
``OVERLAPPING`` set, ``seg/models/detectors/mask2former_vid.py``).

Each query's final mask is resized to the CLIP feature map (stride 32), the CLIP features are
averaged inside it (mask logit > 0) and sent through CLIP's own head; the cosine with the text
embeddings (best synonym, x100) gives CLIP class probabilities. They are fused with the
decoder's probabilities by a geometric ensemble whose exponent depends on whether a class was
seen in training:

    p = p_query ** (1 - e) * p_clip ** e,   e = alpha (0.4) for seen, beta (0.8) for unseen

(e = 0 for a query whose resized mask is empty). The fused distribution over the K classes is
renormalised and rescaled by (1 - p_void), p_void being the decoder's no-object probability;
the result is returned as ``log(probs + 1e-8)`` so the fusion head's softmax recovers it.
Unlike the reference, the ensemble is computed in log space (no underflow, no NaN from
``-inf * 0`` when a probability underflows); where the reference is finite both agree.
"""
from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log

from seg.models.heads.mask_pooling import mask_pool
from seg.utils.config_keys import check_known_keys
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.merge import describe_seen_flags, seen_class_flags
from seg.vocab.runtime_vocabulary import vocabulary_from_names

DEFAULT_ALPHA = 0.4
DEFAULT_BETA = 0.8
OPEN_VOCAB_KEYS = ('enabled', 'alpha', 'beta', 'seen_flags', 'seen_vocabularies')


def geometric_ensemble(query_logits: torch.Tensor, clip_logits: torch.Tensor,
                       valid: torch.Tensor, seen: torch.Tensor, alpha: float = DEFAULT_ALPHA,
                       beta: float = DEFAULT_BETA) -> torch.Tensor:
    """Fuse decoder and CLIP class logits (both (..., K+1), last column = no-object).

    Args:
        query_logits / clip_logits: decoder and CLIP logits; CLIP's no-object column is ignored.
        valid: (...) 1 where the query's mask is non-empty at CLIP resolution.
        seen: (K,) bool, True for classes seen in training.
    Returns:
        (..., K+1) ``log(probs + 1e-8)``.
    """
    num_classes = query_logits.shape[-1] - 1
    if clip_logits.shape[-1] != num_classes + 1 or seen.shape != (num_classes,):
        raise ValueError(f'expected clip logits (..., {num_classes + 1}) and {num_classes} seen '
                         f'flags, got {tuple(clip_logits.shape)} and {tuple(seen.shape)}')
    log_query = query_logits[..., :-1].float().log_softmax(-1)
    log_clip = clip_logits[..., :-1].float().log_softmax(-1)
    exponent = torch.where(seen.to(log_query.device), log_query.new_tensor(alpha),
                           log_query.new_tensor(beta))
    exponent = exponent * valid.to(log_query)[..., None]
    fused = (1 - exponent) * log_query + exponent * log_clip
    void = query_logits.float().softmax(-1)[..., -1:]
    probs = torch.cat([fused.softmax(-1) * (1 - void), void], dim=-1)
    return torch.log(probs + 1e-8)


def clip_mask_logits(backbone, text_classifier: Callable[[torch.Tensor], torch.Tensor],
                     stage4_feats: torch.Tensor, mask_pred: torch.Tensor,
                     num_frames: int = 0) -> Dict[str, torch.Tensor]:
    """CLIP classification of every query mask.

    Args:
        backbone: provides ``get_clip_feature`` and ``forward_feat``.
        text_classifier: (B, Q, D) -> (B, Q, K+1) cosine logits (the head's classifier).
        stage4_feats: (B*T, C, h, w) stride-32 backbone map.
        mask_pred: (B, Q, H, W) mask logits, clips (B, Q, T, H, W).
    Returns:
        ``clip_feat_mask`` (B, Q, T*h, w), ``pooled`` (B, Q, C), ``embedding`` (B, Q, D),
        ``logits`` (B, Q, K+1) and ``valid`` (B, Q) float.
    """
    clip_feat = backbone.get_clip_feature(stage4_feats)
    size = clip_feat.shape[-2:]
    if num_frames > 0:
        batch, queries = mask_pred.shape[:2]
        per_frame = mask_pred.flatten(1, 2).float()  # (B, Q*T, H, W)
        resized = F.interpolate(per_frame, size=size, mode='bilinear', align_corners=False)
        clip_feat_mask = resized.unflatten(1, (queries, num_frames)).flatten(2, 3)
        clip_feat = clip_feat.unflatten(0, (batch, num_frames)).transpose(1, 2).flatten(2, 3)
    else:
        clip_feat_mask = F.interpolate(mask_pred.float(), size=size, mode='bilinear',
                                       align_corners=False)
    pooled = mask_pool(clip_feat, clip_feat_mask)
    embedding = backbone.forward_feat(pooled)
    logits = text_classifier(embedding)
    valid = (clip_feat_mask > 0).flatten(2).any(-1).float()
    return dict(clip_feat_mask=clip_feat_mask, pooled=pooled, embedding=embedding,
                logits=logits, valid=valid)


class OpenVocabFusion:
    """Config-switchable CLIP ensemble for the segmentor's predictions.

    Args:
        seen_flags: one 0/1 per class of the model's vocabulary (the reference's
            ``OVERLAPPING``); fixed, so only valid for that vocabulary.
        seen_vocabularies: the *training* vocabularies, each a ``Vocabulary.build`` config
            (``ann_file`` or class lists) or a names file (``seg.vocab.runtime_vocabulary``);
            flags are then computed for whatever vocabulary the model has, including one set
            at run time.
        alpha / beta: ensemble exponents of seen / unseen classes.
    """

    def __init__(self, seen_flags: Optional[Sequence[int]] = None,
                 seen_vocabularies: Optional[Sequence[Union[dict, str]]] = None,
                 alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA) -> None:
        if (seen_flags is None) == (seen_vocabularies is None):
            raise ValueError('open_vocab needs exactly one of seen_flags (one 0/1 per class) or '
                             'seen_vocabularies (the training vocabularies)')
        for value, label in ((alpha, 'alpha'), (beta, 'beta')):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'open_vocab {label} must lie in [0, 1], got {value}')
        self.alpha, self.beta = float(alpha), float(beta)
        self.fixed_flags = None if seen_flags is None else [bool(f) for f in seen_flags]
        self.seen_vocabularies = None if seen_vocabularies is None else list(seen_vocabularies)
        self.train_class_names = None
        self._flags_cache: Dict[tuple, torch.Tensor] = {}

    def load_train_classes(self) -> None:
        """Read the training vocabularies (files) once; done when the model's vocabulary is
        loaded, not in the constructor."""
        if self.seen_vocabularies is None or self.train_class_names is not None:
            return
        self.train_class_names = [
            name for source in self.seen_vocabularies
            for name in (vocabulary_from_names(source) if isinstance(source, str)
                         else Vocabulary.build(source)).classes]

    @classmethod
    def from_config(cls, cfg: Optional[dict]) -> Optional['OpenVocabFusion']:
        """None when ``cfg`` is None or ``enabled=False``."""
        if cfg is None:
            return None
        cfg = dict(cfg)
        check_known_keys(cfg, OPEN_VOCAB_KEYS, 'open_vocab')
        if not cfg.pop('enabled', True):
            return None
        return cls(**cfg)

    def seen_flags(self, class_names: Sequence[str]) -> torch.Tensor:
        """(K,) bool seen flags for the vocabulary ``class_names``."""
        if self.fixed_flags is not None:
            if len(self.fixed_flags) != len(class_names):
                raise ValueError(f'open_vocab.seen_flags has {len(self.fixed_flags)} entries but '
                                 f'the vocabulary has {len(class_names)} classes; give '
                                 'seen_vocabularies to follow vocabulary changes')
            return torch.tensor(self.fixed_flags)
        key = tuple(class_names)
        if key not in self._flags_cache:
            self.load_train_classes()
            flags = seen_class_flags(self.train_class_names, class_names)
            print_log(f'open-vocabulary fusion: {describe_seen_flags(class_names, flags)}',
                      logger='current')
            self._flags_cache[key] = torch.tensor(flags)
        return self._flags_cache[key]

    def __call__(self, backbone, text_classifier, class_names: Sequence[str],
                 stage4_feats: torch.Tensor, mask_cls: torch.Tensor, mask_pred: torch.Tensor,
                 num_frames: int = 0) -> torch.Tensor:
        """Fused (B, Q, K+1) log-probabilities replacing the decoder's ``mask_cls``."""
        clip = clip_mask_logits(backbone, text_classifier, stage4_feats, mask_pred, num_frames)
        return geometric_ensemble(mask_cls, clip['logits'], clip['valid'],
                                  self.seen_flags(class_names), self.alpha, self.beta)

    def __repr__(self) -> str:
        source = ('fixed seen_flags' if self.fixed_flags is not None
                  else f'training vocabularies {self.seen_vocabularies}')
        return f'OpenVocabFusion(alpha={self.alpha}, beta={self.beta}, {source})'
