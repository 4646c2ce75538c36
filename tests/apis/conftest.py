"""The tiny random predictor and the test image shared by the API tests."""
import copy
import warnings

import numpy as np
import pytest
import torch

from seg.apis import Predictor

HEIGHT, WIDTH = 60, 84


def tiny_predictor(tiny_cfg: dict, **prompt_encoder) -> Predictor:
    """The tiny model with prompt parameters (``prompt_encoder`` settings, default the
    reference's) behind the test pipeline's Resize to 48 x 48; deterministic weights."""
    cfg = copy.deepcopy(tiny_cfg)
    cfg['prompt_encoder'] = dict(type='PromptEncoder', **prompt_encoder)
    torch.manual_seed(0)
    # The test pipeline's Resize is applied to inputs; results come back at the image size.
    config = dict(model=cfg, test_pipeline=[dict(type='LoadImageFromFile'),
                                            dict(type='Resize', scale=(48, 48), keep_ratio=True),
                                            dict(type='PackSegInputs')])
    with warnings.catch_warnings():  # random weights on purpose
        warnings.filterwarnings('ignore', message='.*without a checkpoint')
        return Predictor.from_config(config)


@pytest.fixture
def predictor(tiny_cfg):
    return tiny_predictor(tiny_cfg)


@pytest.fixture
def image():
    rng = np.random.RandomState(0)
    picture = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
    picture[10:40, 20:60] = (220, 40, 40)
    return np.clip(picture + rng.randint(0, 20, picture.shape), 0, 255).astype(np.uint8)
