"""The CLIP text tower as a callable: a list of strings in, one CLIP embedding per string out."""
from typing import Callable, Sequence

import torch
from torch import nn


class OpenCLIPTextEncoder(nn.Module):
    """Frozen open_clip text tower with its tokenizer.

    ``encoder(['a photo of a cat.', ...])`` returns an (N, D) float32 tensor of (unnormalised)
    CLIP text embeddings: open_clip's ``encode_text`` (token + positional embedding, causal
    transformer, final LayerNorm, EOT-token pooling, ``text_projection``), run without gradients.

    Args:
        clip_model: an open_clip ``CLIP`` model; its vision tower is dropped to free memory.
        tokenizer: the open_clip tokenizer of that model (strings -> (N, context_length) ids).
        model_name: open_clip model name, recorded in embedding files.
        embed_dim: CLIP embedding size D.
    """

    def __init__(self, clip_model: nn.Module, tokenizer: Callable[[Sequence[str]], torch.Tensor],
                 model_name: str, embed_dim: int) -> None:
        super().__init__()
        if not hasattr(clip_model, 'encode_text'):
            raise ValueError(
                f'{type(clip_model).__name__} has no encode_text; expected an open_clip CLIP')
        clip_model.visual = None
        self.clip_model = clip_model.float()
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.embed_dim = embed_dim
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> 'OpenCLIPTextEncoder':
        """Always stays in eval mode: the text tower is never trained here."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        return self.clip_model.token_embedding.weight.device

    @torch.no_grad()
    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Encode ``texts`` (a list of strings) to an (N, D) float32 tensor."""
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise ValueError('OpenCLIPTextEncoder expects a list of strings')
        if len(texts) == 0:
            raise ValueError('OpenCLIPTextEncoder got an empty list of texts')
        tokens = self.tokenizer(list(texts)).to(self.device)
        return self.clip_model.encode_text(tokens).float()
