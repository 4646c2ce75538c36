"""tools/test.py evaluates a checkpoint and writes flat metrics to <work_dir>/metrics.json."""
import json
import subprocess
import sys
from pathlib import Path

import torch

from seg.models import build_segmentor

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def cli_options(data_root: Path) -> list:
    root = f'{data_root}/'
    return [
        f'test_dataloader.dataset.data_root={root}',
        f'model.vocabulary.ann_file={data_root}/annotations/panoptic_train2017.json',
        'test_dataloader.batch_size=2', 'test_dataloader.num_workers=0',
        'model.panoptic_head.num_queries=6', 'model.panoptic_head.transformer_decoder.num_layers=2',
    ]


def run_test_tool(args: list) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / 'test.py'), str(TOY_CONFIG),
                           *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_test_tool_writes_metrics_json_and_visualisations(tmp_path, toy_data_root):
    # A checkpoint of the (untrained) model, saved as a plain state dict.
    from mmengine.config import Config
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.merge_from_dict(dict(
        [option.split('=', 1) for option in cli_options(toy_data_root)[1:2]]))
    cfg.model.panoptic_head.num_queries = 6
    cfg.model.panoptic_head.transformer_decoder.num_layers = 2
    model = build_segmentor(cfg.model)
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)

    work_dir = tmp_path / 'work'
    result = run_test_tool(['--checkpoint', str(checkpoint), '--work-dir', str(work_dir),
                            '--show-dir', 'vis', '--cfg-options', *cli_options(toy_data_root)])
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    metrics = json.loads((work_dir / 'metrics.json').read_text())
    for key in ('coco_panoptic/PQ', 'coco_panoptic/PQ_th', 'coco_panoptic/PQ_st',
                'coco_instance/segm_mAP', 'sem_seg/mIoU'):
        assert key in metrics, sorted(metrics)
        assert isinstance(metrics[key], float)
    drawn = sorted((work_dir / 'vis').glob('*.png'))
    assert len(drawn) == 4  # one per validation image


def test_test_tool_rejects_a_missing_checkpoint(tmp_path, toy_data_root):
    result = run_test_tool(['--checkpoint', str(tmp_path / 'absent.pth'), '--work-dir',
                            str(tmp_path / 'work'), '--cfg-options', *cli_options(toy_data_root)])
    assert result.returncode != 0
    assert 'absent.pth' in result.stderr
