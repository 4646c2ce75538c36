"""tools/benchmark.py runs every benchmark on the shrunk toy config and writes its JSON."""
import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def run_benchmark(args: list) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / 'benchmark.py'),
                           str(TOY_CONFIG), *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


def test_benchmark_writes_every_section(tmp_path, toy_data_root):
    out = tmp_path / 'bench.json'
    result = run_benchmark([
        '--threads', '1', '--size', '64', '96', '--runs', '1', '--warmup', '0', '--batch', '2',
        '--data-samples', '2', '--eval-images', '1', '--eval-segments', '5', '--out', str(out),
        '--cfg-options', f'train_dataloader.dataset.data_root={toy_data_root}/',
        f'model.vocabulary.ann_file={toy_data_root}/annotations/panoptic_train2017.json',
        'model.panoptic_head.num_queries=6',
        'model.panoptic_head.transformer_decoder.num_layers=2'])
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    results = json.loads(out.read_text())
    assert results['threads'] == 1 and results['size'] == [64, 96]
    assert set(results['inference']) == {'backbone', 'pixel_decoder', 'mask_decoder',
                                         'postprocess', 'total'}
    for row in results['inference'].values():
        assert 0 < row['min_s'] <= row['median_s'] <= row['max_s']
    assert results['train']['batch_size'] == 2
    assert results['train']['iters_per_s'] > 0 and results['train']['peak_memory_bytes'] > 0
    assert results['data']['samples'] == 2 and results['data']['samples_per_s'] > 0
    assert results['eval']['segments'] == 5 and results['eval']['in_memory_images_per_s'] > 0
    assert 'pixel_decoder' in result.stdout  # the printed table


def test_benchmark_rejects_an_unknown_section(toy_data_root):
    result = run_benchmark(['--what', 'inference,speed'])
    assert result.returncode != 0
    assert "unknown ['speed']" in result.stderr
