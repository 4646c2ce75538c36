"""The reduced-size reference head (tests/data/reference_small/head_case_small.pth) as fixtures."""
from pathlib import Path

import pytest
import torch

from seg.models import build_segmentor
from seg.models.heads import OMGHead, PromptEncoder

REFERENCE_DIR = Path(__file__).parents[1] / 'data' / 'reference_small'
CASE_CHANNELS = 64


def build_reference_case_head() -> OMGHead:
    """The head of the reference case: 64 channels, 12 queries, 3 layers."""
    attention = dict(embed_dims=CASE_CHANNELS, num_heads=4, dropout=0.0, batch_first=True)
    ffn = dict(embed_dims=CASE_CHANNELS, feedforward_channels=128, num_fcs=2, ffn_drop=0.0,
               act_cfg=dict(type='ReLU', inplace=True))
    return OMGHead(
        in_channels=[40, 80, 160, 320], feat_channels=CASE_CHANNELS, out_channels=CASE_CHANNELS,
        num_queries=12,
        pixel_decoder=dict(
            type='MSDeformAttnPixelDecoder', num_outs=3,
            encoder=dict(num_layers=2, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=CASE_CHANNELS, num_heads=4, num_levels=3,
                                   num_points=4, dropout=0.0, batch_first=True),
                ffn_cfg=ffn)),
            positional_encoding=dict(num_feats=CASE_CHANNELS // 2, normalize=True)),
        positional_encoding=dict(num_feats=CASE_CHANNELS // 2, normalize=True),
        transformer_decoder=dict(num_layers=3, return_intermediate=True, layer_cfg=dict(
            self_attn_cfg=attention, cross_attn_cfg=dict(attention), ffn_cfg=ffn)),
        clip_embed_dim=64)


PROMPT_PARAMETERS = ('mask_tokens.', 'pb_embedding.', 'pos_linear.')


def split_reference_head_state(state_dict: dict):
    """The reference head's state dict split into ours: (head, prompt encoder)."""
    head = {k: v for k, v in state_dict.items() if not k.startswith(PROMPT_PARAMETERS)}
    prompt = {k: v for k, v in state_dict.items() if k.startswith(PROMPT_PARAMETERS)}
    return head, prompt


@pytest.fixture(scope='session')
def reference_head_case() -> dict:
    """Head weights, text classifier, image features and outputs of the reference case."""
    return torch.load(REFERENCE_DIR / 'head_case_small.pth', weights_only=True)


@pytest.fixture(scope='session')
def reference_case_head(reference_head_case) -> OMGHead:
    """The reference case's head with its weights and text classifier (3 things, 2 stuff), in
    eval mode."""
    head = build_reference_case_head()
    head_state, _ = split_reference_head_state(reference_head_case['head_state_dict'])
    head.load_state_dict(head_state, strict=True)
    head.text_classifier.set_embeddings(reference_head_case['text_classifier'], num_things=3)
    return head.eval()


@pytest.fixture(scope='session')
def reference_case_prompt_encoder(reference_head_case) -> PromptEncoder:
    """The reference case's prompt parameters (kept in its head) in our prompt encoder."""
    encoder = PromptEncoder(feat_channels=CASE_CHANNELS)
    _, prompt_state = split_reference_head_state(reference_head_case['head_state_dict'])
    encoder.load_state_dict(prompt_state, strict=True)
    return encoder.eval()


@pytest.fixture
def model(tiny_cfg):
    """The tiny test segmentor (tests/conftest.py), seeded, with its vocabulary installed."""
    torch.manual_seed(0)
    segmentor = build_segmentor(tiny_cfg)
    segmentor.init_weights()
    return segmentor
