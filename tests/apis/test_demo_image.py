"""tools/demo_image.py writes one overlay per image and task, plus prompt overlays."""
import copy
import importlib.util
from pathlib import Path

import cv2
import pytest
import torch
from mmengine.config import Config

from seg.registry import MODELS

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'demo_image.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('demo_image_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_writes_overlays(tiny_cfg, toy_data_root, tmp_path):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['prompt_encoder'] = dict(type='PromptEncoder')
    Config(dict(model=cfg)).dump(str(tmp_path / 'tiny.py'))
    torch.save(dict(state_dict=MODELS.build(cfg).state_dict()), tmp_path / 'model.pth')
    image = sorted((toy_data_root / 'val2017').iterdir())[0]
    out_dir = tmp_path / 'out'
    assert load_tool().main([str(tmp_path / 'tiny.py'), str(tmp_path / 'model.pth'), str(image),
                             '--out-dir', str(out_dir), '--task', 'all',
                             '--vocabulary', 'ball', 'box', '--stuff', 'sky',
                             '--points', '10,12', '--boxes', '2,3,30,40']) == 0
    height, width = cv2.imread(str(image)).shape[:2]
    for task in ('panoptic', 'instance', 'semantic', 'prompts'):
        overlay = cv2.imread(str(out_dir / f'{image.stem}_{task}.png'))
        assert overlay is not None and overlay.shape[1] > width and overlay.shape[0] >= height


def test_demo_refuses_malformed_prompts(tmp_path):
    with pytest.raises(ValueError, match='--boxes'):
        load_tool().main(['cfg.py', 'ckpt.pth', str(tmp_path), '--out-dir', str(tmp_path),
                          '--boxes', '1,2,3'])
