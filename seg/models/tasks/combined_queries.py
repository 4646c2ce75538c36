"""Semantic queries and location prompts decoded in one pass.

The decoder's layers treat queries independently except in self-attention. So the learned
semantic queries and the prompt queries of an image can share one decoder pass when
self-attention keeps the two groups apart: the semantic queries see only each other (their
output is then the one of a semantic-only pass, up to float summation order) and every prompt
sees only its own tokens, as in a prompt-only pass. Cross-attention, the FFNs and the per-query
predictions are per query already. The memories are read once for both groups, and the
backbone and pixel decoder run once.
"""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from seg.models.heads import DecoderOutput


def combine_queries(semantic: Dict[str, Tensor], prompts: Dict[str, object]
                    ) -> Dict[str, object]:
    """The decoder ``queries`` of semantic queries (``query_feat`` / ``query_embed``
    (B, Q, C)) followed by the prompt queries of ``PromptEncoder`` (B, M, C), with the
    self-attention mask, first-layer switch and mask-logit bias of the prompts applied to the
    prompt rows only."""
    batch, num_semantic = semantic['query_feat'].shape[:2]
    prompt_feat = prompts['query_feat']
    num_prompt = prompt_feat.shape[1]
    device = prompt_feat.device
    total = num_semantic + num_prompt

    prompt_mask = prompts.get('self_attn_mask')
    if prompt_mask is None:
        prompt_mask = torch.zeros(num_prompt, num_prompt, dtype=torch.bool, device=device)
    per_image = prompt_mask.dim() == 3
    mask = torch.ones((batch, total, total) if per_image else (total, total), dtype=torch.bool,
                      device=device)
    mask[..., :num_semantic, :num_semantic] = False
    mask[..., num_semantic:, num_semantic:] = prompt_mask

    combined = dict(
        query_feat=torch.cat([semantic['query_feat'].to(prompt_feat), prompt_feat], dim=1),
        query_embed=torch.cat([semantic['query_embed'].to(prompt_feat),
                               prompts['query_embed']], dim=1),
        self_attn_mask=mask)
    if not prompts.get('first_layer_mask', True):
        keep = torch.ones(total, dtype=torch.bool, device=device)
        keep[num_semantic:] = False
        combined['first_layer_mask'] = keep
    prompt_bias = prompts.get('mask_logit_bias')
    if prompt_bias is not None:
        def mask_logit_bias(decoder_out: Tensor) -> Tensor:
            bias = prompt_bias(decoder_out[:, num_semantic:])  # (B, M, h, w)
            return F.pad(bias, (0, 0, 0, 0, num_semantic, 0))  # zeros for the semantic rows
        combined['mask_logit_bias'] = mask_logit_bias
    return combined


def split_output(output: DecoderOutput, num_semantic: int
                 ) -> Tuple[DecoderOutput, DecoderOutput]:
    """The semantic queries' and the prompt queries' parts of a combined pass's output."""
    return (output.queries(slice(None, num_semantic)),
            output.queries(slice(num_semantic, None)))
