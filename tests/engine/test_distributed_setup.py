"""runner_setup refuses distributed training that would hang on parameters without
gradients."""
from pathlib import Path

import pytest
from mmengine.config import Config

from seg.engine.runner_setup import setup_config

REPO_ROOT = Path(__file__).resolve().parents[2]
INTERACTIVE = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_interactive.py'


def config(**changes) -> Config:
    cfg = Config.fromfile(str(INTERACTIVE))
    cfg.merge_from_dict(changes)
    return cfg


def test_ddp_with_a_prompt_encoder_needs_find_unused_parameters(tmp_path):
    with pytest.raises(ValueError, match='needs find_unused_parameters = True'):
        setup_config(config(find_unused_parameters=False), str(INTERACTIVE),
                     work_dir=str(tmp_path), launcher='pytorch')
    # As configured (True), in a single process, or without a prompt encoder: fine.
    for cfg, launcher in ((config(), 'pytorch'), (config(find_unused_parameters=False), 'none'),
                          (config(find_unused_parameters=False,
                                  **{'model.prompt_encoder': None}), 'pytorch')):
        setup_config(cfg, str(INTERACTIVE), work_dir=str(tmp_path), launcher=launcher)
    # A model wrapper config of one's own decides too.
    wrapped = config(find_unused_parameters=False,
                     model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                            find_unused_parameters=True))
    setup_config(wrapped, str(INTERACTIVE), work_dir=str(tmp_path), launcher='pytorch')
