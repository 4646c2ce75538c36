"""tools/test.py with the exemplar-vocabulary config: the same metrics as the text vocabulary,
every class defined by examples from the training split."""
import json
import subprocess
import sys
from pathlib import Path

import torch
from mmengine.config import Config

from seg.models import build_segmentor

REPO_ROOT = Path(__file__).resolve().parents[2]
EXEMPLAR_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_exemplar_eval.py'


def _tiny_options(data_root: Path) -> list:
    return [f'test_dataloader.dataset.data_root={data_root}/',
            f'custom_hooks.1.dataset.data_root={data_root}/',
            f'model.vocabulary.ann_file={data_root}/annotations/panoptic_train2017.json',
            'test_dataloader.batch_size=2', 'test_dataloader.num_workers=0',
            'model.panoptic_head.num_queries=6',
            'model.panoptic_head.transformer_decoder.num_layers=2']


def _checkpoint(tmp_path: Path, data_root: Path) -> Path:
    """A random checkpoint of the toy model shrunk as ``_tiny_options`` says."""
    cfg = Config.fromfile(str(EXEMPLAR_CONFIG))
    cfg.model.vocabulary.ann_file = f'{data_root}/annotations/panoptic_train2017.json'
    cfg.model.panoptic_head.num_queries = 6
    cfg.model.panoptic_head.transformer_decoder.num_layers = 2
    torch.manual_seed(0)
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': build_segmentor(cfg.model).state_dict(), 'meta': {}}, checkpoint)
    return checkpoint


def test_exemplar_evaluation_reports_the_text_vocabulary_metrics(tmp_path, toy_data_root):
    options = _tiny_options(toy_data_root) + ['custom_hooks.1.examples_per_class=2',
                                              'custom_hooks.1.prototype=mix']
    checkpoint = _checkpoint(tmp_path, toy_data_root)
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'), str(EXEMPLAR_CONFIG),
         '--checkpoint', str(checkpoint), '--work-dir', str(work_dir), '--cfg-options',
         *options], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert 'exemplar vocabulary (mix prototypes) replaces the text embeddings' in output
    metrics = json.loads((work_dir / 'metrics.json').read_text())
    for key in ('coco_panoptic/PQ', 'coco_instance/segm_mAP', 'sem_seg/mIoU'):
        assert isinstance(metrics.get(key), float), sorted(metrics)


def test_sweep_compares_the_text_vocabulary_with_every_exemplar_vocabulary(tmp_path,
                                                                          toy_data_root):
    work_dir = tmp_path / 'sweep'
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'exemplar_sweep.py'), str(EXEMPLAR_CONFIG),
         '--checkpoint', str(_checkpoint(tmp_path, toy_data_root)), '--work-dir',
         str(work_dir), '--examples', '1', '2', '--prototypes', 'decoder', 'clip',
         '--cfg-options', *_tiny_options(toy_data_root)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    results = json.loads((work_dir / 'exemplar_sweep.json').read_text())['results']
    assert list(results) == ['text', 'decoder_1', 'decoder_2', 'clip_1', 'clip_2']
    for metrics in results.values():
        assert isinstance(metrics['coco_panoptic/PQ'], float)
    assert 'PQ/text' in result.stdout
