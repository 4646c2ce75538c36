"""Predictor.from_pretrained offline: a fake Hugging Face cache holds a synthetic checkpoint
with the reference's parameter names under the model index's repository and file name."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config

from seg.apis import Predictor
from seg.apis import pretrained
from seg.checkpoint import CONVERTED_FORMAT
from seg.models import build_segmentor
from seg.models.__main__ import main as models_main
from seg.utils.paths import resolve_data_path

from ..conftest import tiny_model_cfg

REVISION = '0123456789abcdef0123456789abcdef01234567'


def reference_names(state_dict: dict) -> dict:
    """The weights as the reference saves them: DDP prefix, open_clip names for the backbone,
    the prompt parameters inside the head, plus a buffer the converter drops."""
    published = {}
    for key, value in state_dict.items():
        key = key.replace('backbone.layer1.', 'backbone.visual.trunk.stages.0.')
        key = key.replace('prompt_encoder.', 'panoptic_head.')
        published['module.' + key] = value.clone()
    published['module.panoptic_head.cls_embed'] = torch.zeros(5, 8, 1)
    return published


@pytest.fixture
def tiny_config(toy_data_root, tmp_path):
    model = tiny_model_cfg(toy_data_root)
    model['prompt_encoder'] = dict(type='PromptEncoder')
    path = tmp_path / 'tiny.py'
    Config(dict(model=model, default_scope='seg',
                test_pipeline=[dict(type='Resize', scale=(64, 64), keep_ratio=True)])).dump(
                    str(path))
    return path


@pytest.fixture
def hub(tmp_path, monkeypatch, tiny_config):
    """An offline hub cache with LXT/OMG_Seg/omg_seg_convl.pth (reference names, tiny model);
    returns the source model's state dict."""
    import huggingface_hub.constants as hub_constants
    torch.manual_seed(0)
    source = build_segmentor(copy.deepcopy(Config.fromfile(str(tiny_config)).model))
    cache = tmp_path / 'hub'
    repo = cache / 'models--LXT--OMG_Seg'
    (repo / 'snapshots' / REVISION).mkdir(parents=True)
    (repo / 'refs').mkdir()
    (repo / 'refs' / 'main').write_text(REVISION)
    torch.save(dict(meta=dict(note='reference layout'),
                    state_dict=reference_names(source.state_dict())),
               repo / 'snapshots' / REVISION / 'omg_seg_convl.pth')
    monkeypatch.setenv('HF_HUB_CACHE', str(cache))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.setattr(hub_constants, 'HF_HUB_CACHE', str(cache))
    monkeypatch.setattr(hub_constants, 'HF_HUB_OFFLINE', True)
    return source.state_dict()


def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)


def test_name_resolves_through_the_hub_cache_converts_once_and_matches(
        hub, tiny_config, isolated_cache, monkeypatch):
    predictor = Predictor.from_pretrained('omg-seg-convl', config=tiny_config, device='cpu')
    for key, value in hub.items():
        assert torch.equal(predictor.model.state_dict()[key], value), key
    converted = list((isolated_cache / 'checkpoints').glob('omg_seg_convl-*.pth'))
    assert len(converted) == 1
    assert torch.load(converted[0], weights_only=True)['meta']['format'] == CONVERTED_FORMAT
    written = converted[0].stat().st_mtime_ns

    def no_second_conversion(*args, **kwargs):
        raise AssertionError('converted again')
    monkeypatch.setattr(pretrained, 'convert_checkpoint', no_second_conversion)
    again = Predictor.from_pretrained('omg-seg-convl', config=tiny_config, device='cpu',
                                      revision=REVISION)
    assert converted[0].stat().st_mtime_ns == written

    direct = Predictor.from_config(str(tiny_config), converted[0], device='cpu')
    results = [p.predict(image(), task='all') for p in (predictor, again, direct)]
    for result in results[1:]:
        np.testing.assert_array_equal(result.panoptic, results[0].panoptic)
        np.testing.assert_array_equal(result.semantic, results[0].semantic)
        np.testing.assert_array_equal(result.instances.scores, results[0].instances.scores)


def test_local_files_and_errors(hub, tiny_config, tmp_path, isolated_cache):
    published = next((tmp_path / 'hub').rglob('omg_seg_convl.pth'))
    local = tmp_path / 'my_model.pth'
    local.write_bytes(published.read_bytes())
    predictor = Predictor.from_pretrained(str(local), config=tiny_config, device='cpu')
    for key, value in hub.items():
        assert torch.equal(predictor.model.state_dict()[key], value), key
    assert list((isolated_cache / 'checkpoints').glob('my_model-*.pth'))
    # A converted file is used as it is.
    converted = next((isolated_cache / 'checkpoints').glob('my_model-*.pth'))
    assert pretrained.resolve_pretrained(converted, config=tiny_config)[1] == converted

    with pytest.raises(ValueError, match='give config='):
        pretrained.resolve_pretrained(local)  # the file name is not one of the index's
    with pytest.raises(FileNotFoundError, match='omg-seg-tiny.*known: omg-seg-convl'):
        pretrained.resolve_pretrained('omg-seg-tiny', config=tiny_config)
    # Offline and not in the hub cache: the hub's error, no download attempt.
    from huggingface_hub.errors import LocalEntryNotFoundError
    with pytest.raises(LocalEntryNotFoundError):
        pretrained.resolve_pretrained('omg-seg-convxxl', config=tiny_config)


def test_shipped_model_index_lists_the_released_models(capsys):
    index = pretrained.load_model_index()
    assert {'omg-seg-convl', 'omg-seg-convxxl'} <= set(index.models)
    for entry in index.models.values():
        assert entry.hub_repo == 'LXT/OMG_Seg' and entry.file.endswith('.pth')
        for config in [entry.config, *entry.task_configs.values()]:
            assert resolve_data_path(config).is_file(), config
    speed = index.get('omg-seg-convl').measured_speed['cpu']
    assert speed['ms']['total'] > 0 and speed['date'] and speed['source']
    assert models_main(['list']) == 0
    output = capsys.readouterr().out
    assert 'omg-seg-convxxl' in output and 'omg_seg_convl.pth' in output


@pytest.mark.parametrize('text, message', [
    ('models: [{name: a, config: c.py}]', "model 'a': missing 'weights'"),
    ('models: [{name: a, config: c.py, weights: {hub_repo: r}}]', "weights: missing 'file'"),
    ('models: [{name: a, config: c.py, weights: {hub_repo: r, file: f}, speed: 1}]',
     r"unknown keys \['speed'\]"),
    ('entries: []', 'expected a mapping with a "models" list'),
])
def test_malformed_model_index_is_refused(tmp_path, text, message):
    path = tmp_path / 'index.yml'
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        pretrained.load_model_index(path)
