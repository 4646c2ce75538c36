"""tools/convert_checkpoint.py: published layout in, strictly loadable checkpoint out."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from seg.checkpoint import CheckpointConversionError
from seg.registry import MODELS

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'convert_checkpoint.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('convert_checkpoint_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ReferenceMeta:
    """A metadata class of the reference's stack (never imported when reading)."""


def published_checkpoint(model, path: Path, extra=None) -> dict:
    """The model's weights as the reference saves them: DDP prefix, open_clip backbone names,
    non-persistent buffers included, foreign objects in meta."""
    state = {}
    for key, value in model.state_dict().items():
        key = key.replace('backbone.layer1.', 'backbone.visual.trunk.stages.0.')
        state['module.' + key] = value.clone()
    state['module.panoptic_head.cls_embed'] = torch.zeros(32, 8, 1)
    state.update(extra or {})
    torch.save(dict(meta=dict(cfg=ReferenceMeta()), state_dict=state), path)
    return state


def test_converts_and_loads_strictly(tiny_cfg, tmp_path, capsys):
    tool = load_tool()
    config = tmp_path / 'tiny.py'
    Config(dict(model=tiny_cfg)).dump(str(config))
    source_model = MODELS.build(tiny_cfg)
    published_checkpoint(source_model, tmp_path / 'published.pth')

    assert tool.main([str(tmp_path / 'published.pth'), str(tmp_path / 'ours.pth'),
                      '--config', str(config)]) == 0
    output = capsys.readouterr().out
    assert 'renamed' in output and 'panoptic_head.cls_embed' in output

    converted = torch.load(tmp_path / 'ours.pth', weights_only=True)
    assert converted['meta']['converted_from'] == 'published.pth'
    target = MODELS.build(tiny_cfg)
    target.load_state_dict(converted['state_dict'], strict=True)
    for key, value in source_model.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_unknown_entries_fail_unless_allowed(tiny_cfg, tmp_path):
    tool = load_tool()
    config = tmp_path / 'tiny.py'
    Config(dict(model=tiny_cfg)).dump(str(config))
    published_checkpoint(MODELS.build(tiny_cfg), tmp_path / 'published.pth',
                         extra={'module.panoptic_head.extra_branch.weight': torch.ones(2)})
    args = [str(tmp_path / 'published.pth'), str(tmp_path / 'ours.pth'), '--config', str(config)]
    with pytest.raises(CheckpointConversionError, match='extra_branch'):
        tool.main(args)
    assert not (tmp_path / 'ours.pth').exists()
    assert tool.main(args + ['--allow-unknown']) == 0
    meta = torch.load(tmp_path / 'ours.pth', weights_only=True)['meta']
    assert meta['unknown_dropped'] == ['module.panoptic_head.extra_branch.weight']


def test_damaged_source_gives_a_clear_error(tmp_path):
    tool = load_tool()
    damaged = tmp_path / 'omg_seg_convl.pth'
    damaged.write_bytes(b'PK\x03\x04 truncated download')
    with pytest.raises(ValueError, match='omg_seg_convl.pth'):
        tool.main([str(damaged), str(tmp_path / 'out.pth')])


def test_paper_model_is_detected_from_the_checkpoint():
    tool = load_tool()
    source = {'backbone.stem.0.weight': torch.empty(192, 3, 4, 4, device='meta'),
              'panoptic_head.pb_embedding.weight': torch.empty(2, 256, device='meta')}
    model = tool.model_config_for(source, None)
    assert model['backbone']['model_name'] == 'convnext_large_d_320'
    assert model['prompt_encoder'] is not None
    source = {'backbone.stem.0.weight': torch.empty(384, 3, 4, 4, device='meta')}
    model = tool.model_config_for(source, None)
    assert model['backbone']['model_name'] == 'convnext_xxlarge'
    assert model['prompt_encoder'] is None
    with pytest.raises(ValueError, match='--config'):
        tool.model_config_for({'backbone.stem.0.weight': torch.empty(40, 3, 4, 4)}, None)
