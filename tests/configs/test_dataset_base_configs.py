"""The dataset base configs share their dataloader blocks (configs/_base_/datasets/_loaders.py)
without leaking the building blocks into built configs, and no config edits a pipeline by list
index."""
import re
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs'
ALL_CONFIGS = sorted(CONFIG_DIR.rglob('*.py'))
LOADERS = CONFIG_DIR / '_base_' / 'datasets' / '_loaders.py'
BUILDING_BLOCKS = set(Config.fromfile(str(LOADERS)).to_dict())


def test_building_blocks_are_the_loader_settings_and_coco_files():
    assert BUILDING_BLOCKS == {'train_loader', 'test_loader', 'coco_train_files',
                               'coco_val_files'}
    blocks = Config.fromfile(str(LOADERS))
    assert blocks.train_loader.sampler.shuffle and not blocks.test_loader.sampler.shuffle
    assert blocks.test_loader.drop_last is False


@pytest.mark.parametrize('path', [p for p in ALL_CONFIGS if p != LOADERS],
                         ids=lambda p: str(p.relative_to(CONFIG_DIR)))
def test_config_holds_no_building_block(path):
    built = Config.fromfile(str(path)).to_dict()  # types as strings: nothing is imported
    leaked = BUILDING_BLOCKS & set(built)
    assert not leaked, f'{path}: delete {sorted(leaked)} at its end'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = built.get(name)
        if loader:
            assert loader['dataset'].get('type'), f'{path}: {name}.dataset has no type'
            assert loader['sampler']['shuffle'] == (name == 'train_dataloader'), f'{path}: {name}'


def test_no_config_edits_a_pipeline_by_list_index():
    pattern = re.compile(r'pipeline\w*\[\d+\]\s*(=|\.update)')
    edits = [f'{path.relative_to(CONFIG_DIR)}:{number}: {line.strip()}'
             for path in ALL_CONFIGS
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert not edits, edits
