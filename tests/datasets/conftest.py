"""Fixtures for dataset tests: a tiny generated toy COCO-panoptic folder."""
import json
import shutil
from pathlib import Path

import pytest

from seg.datasets import CocoPanopticDataset
from seg.testing.toy_data import generate_toy_dataset


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory) -> Path:
    """A read-only toy dataset: 6 train and 3 val images (do not modify it in tests)."""
    root = tmp_path_factory.mktemp('toy_coco')
    generate_toy_dataset(root, num_train=6, num_val=3, seed=0, log=None)
    return root


@pytest.fixture
def toy_copy(toy_root, tmp_path) -> Path:
    """A private copy of the toy dataset that a test may corrupt."""
    return Path(shutil.copytree(toy_root, tmp_path / 'toy'))


def _load_json(root: Path, split: str = 'train') -> dict:
    return json.loads((root / 'annotations' / f'panoptic_{split}2017.json').read_text())


def _save_json(root: Path, content: dict, split: str = 'train') -> None:
    (root / 'annotations' / f'panoptic_{split}2017.json').write_text(json.dumps(content))


def _build_dataset(root: Path, split: str = 'train', **kwargs) -> CocoPanopticDataset:
    kwargs.setdefault('test_mode', True)
    return CocoPanopticDataset(
        data_root=str(root), ann_file=f'annotations/panoptic_{split}2017.json',
        data_prefix=dict(img=f'{split}2017/', seg=f'annotations/panoptic_{split}2017/'),
        **kwargs)


@pytest.fixture
def load_json():
    """load_json(root, split='train') -> the split's panoptic json."""
    return _load_json


@pytest.fixture
def save_json():
    """save_json(root, content, split='train'): replace the split's panoptic json."""
    return _save_json


@pytest.fixture
def build_dataset():
    """build_dataset(root, split='train', **kwargs) -> CocoPanopticDataset (test_mode default)."""
    return _build_dataset
