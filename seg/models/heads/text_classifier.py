"""Open-vocabulary classifier: cosine similarity with CLIP text embeddings."""

import torch
import torch.nn as nn
import torch.nn.functional as F


# The reference's literal value (about ln 100 = 4.60517); kept exactly so released checkpoints
# give identical class logits.
REFERENCE_LOGIT_SCALE = 4.6052


class CosineTextClassifier(nn.Module):
    """Scores query embeddings against per-class text prototypes.

    The prototypes (K, P, D) hold P synonyms per class; a query's class logit is the best cosine
    over the synonyms times a fixed ``exp(logit_scale)`` (4.6052, about ln 100, as the
    reference). An all-zero background prototype is appended, so the background logit is always
    0 and softmax cross-entropy over K + 1 classes works. Prototypes are buffers outside the
    state dict: they come from the text-embedding file of the current vocabulary, not from
    checkpoints.

    The classifier is the one place that knows the class space of the current vocabulary:
    ``num_classes`` K and ``num_things`` (things are classes ``[0, num_things)``, stuff the
    rest), installed together with the prototypes.
    """

    def __init__(self, embed_dim: int, logit_scale: float = REFERENCE_LOGIT_SCALE):
        super().__init__()
        self.embed_dim = embed_dim
        self.register_buffer('logit_scale', torch.tensor(float(logit_scale)), persistent=False)
        # (D, K + 1, P); empty until `set_embeddings` is called.
        self.register_buffer('cls_embed', torch.zeros(embed_dim, 0, 1), persistent=False)
        self.num_things = 0

    @property
    def num_classes(self) -> int:
        """Number of real classes K (the background prototype not counted)."""
        return max(self.cls_embed.shape[1] - 1, 0)

    @property
    def num_stuff(self) -> int:
        return self.num_classes - self.num_things

    def set_embeddings(self, embeddings: torch.Tensor, num_things: int) -> None:
        """Install text prototypes of shape (K, P, D) (unit norm, things first) and the zero
        background; ``num_things`` of the K classes are things."""
        if embeddings.dim() != 3 or embeddings.shape[-1] != self.embed_dim:
            raise ValueError(
                f'text embeddings must have shape (K, P, {self.embed_dim}), '
                f'got {tuple(embeddings.shape)}')
        if not 0 <= num_things <= embeddings.shape[0]:
            raise ValueError(f'num_things={num_things} is outside [0, K={embeddings.shape[0]}]')
        self.num_things = int(num_things)
        embeddings = embeddings.float()
        background = embeddings.new_zeros(1, embeddings.shape[1], self.embed_dim)
        with_background = torch.cat([embeddings, background], dim=0)
        self.cls_embed = with_background.permute(2, 0, 1).contiguous().to(self.cls_embed.device)

    def forward(self, class_embeddings: torch.Tensor) -> torch.Tensor:
        """(B, Q, D) query class embeddings -> (B, Q, K + 1) logits."""
        if self.cls_embed.shape[1] == 0:
            raise RuntimeError(
                'the text classifier has no class embeddings: the segmentor installs them from '
                'the vocabulary (see `text_classifier` in the model config)')
        # float32 even under autocast: a bf16 cosine scaled by ~100 moves logits by ~0.1-0.5.
        with torch.autocast(class_embeddings.device.type, enabled=False):
            normalised = F.normalize(class_embeddings.float(), dim=-1)
            per_synonym = torch.einsum('bqd,dkp->bqkp', normalised, self.cls_embed.float())
            return self.logit_scale.float().exp() * per_synonym.max(dim=-1).values
