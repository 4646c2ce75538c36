"""tools/train.py --dry-run N: N iterations of any config (here the epoch-based, scheduled toy
config), a checkpoint at the end, nothing else of the schedule."""
import importlib.util
from pathlib import Path

import pytest

from seg.engine import load_checkpoint_file

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def load_train_tool():
    spec = importlib.util.spec_from_file_location('train_tool', REPO_ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_trains_n_iterations_and_saves_one_checkpoint(tmp_path, toy_data_root):
    train = load_train_tool()
    train.main([str(TOY_CONFIG), '--work-dir', str(tmp_path), '--dry-run', '2', '--cfg-options',
                f'train_dataloader.dataset.data_root={toy_data_root}/',
                f'model.vocabulary.ann_file={toy_data_root}/annotations/panoptic_train2017.json',
                'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                'model.panoptic_head.num_queries=6',
                'model.panoptic_head.transformer_decoder.num_layers=2',
                'model.train_cfg.num_points=128'])
    assert sorted(path.name for path in tmp_path.glob('iter_*.pth')) == ['iter_2.pth']
    log = next(tmp_path.rglob('*.log')).read_text()
    assert 'Iter(train) [2/2]' in log  # logged as an iteration run, not as epoch 1
    assert load_checkpoint_file(str(tmp_path / 'iter_2.pth'))['meta']['iter'] == 2
    with pytest.raises(ValueError, match='at least 1 iteration'):
        train.main([str(TOY_CONFIG), '--work-dir', str(tmp_path / 'x'), '--dry-run', '0'])
