"""tools/benchmark.py runs every benchmark on the shrunk toy config and writes its JSON."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'
_spec = importlib.util.spec_from_file_location('benchmark_tool',
                                               REPO_ROOT / 'tools' / 'benchmark.py')
benchmark_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark_tool)


def run_benchmark(args: list, config: Path = TOY_CONFIG) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / 'tools' / 'benchmark.py'),
                           str(config), *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


def test_benchmark_writes_every_section(tmp_path, toy_data_root):
    out = tmp_path / 'bench.json'
    result = run_benchmark([
        '--threads', '1', '--size', '64', '96', '--runs', '1', '--warmup', '0', '--batch', '2',
        '--data-samples', '2', '--eval-images', '1', '--eval-segments', '5', '--pq-baseline',
        '--eval-videos', '2', '--eval-frames', '2', '--eval-video-segments', '5',
        '--eval-video-size', '24', '32', '--eval-nproc', '1', '--out', str(out),
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
    assert results['eval']['baseline_same_pq'] is True
    assert results['eval']['baseline_loop_images_per_s'] > 0
    assert [(row['metric'], row['nproc']) for row in results['eval_video']] == [('VPQ', 1),
                                                                                ('STQ', 1)]
    assert all(row['frames_per_s'] > 0 for row in results['eval_video'])
    assert 'video' not in results  # not asked for
    assert 'pixel_decoder' in result.stdout  # the printed table


def test_benchmark_rejects_an_unknown_section(capsys):
    with pytest.raises(SystemExit):
        benchmark_tool.parse_args([str(TOY_CONFIG), '--what', 'inference,speed'])
    assert "unknown ['speed']" in capsys.readouterr().err


def test_video_frames_per_second(tmp_path):
    out = tmp_path / 'video.json'
    result = run_benchmark(['--what', 'video', '--threads', '1', '--size', '32', '48',
                            '--frames', '4', '--runs', '1', '--warmup', '0', '--out', str(out)],
                           config=REPO_ROOT / 'configs' / 'toy' / 'omg_toy_video.py')
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    video = json.loads(out.read_text())['video']
    assert video['frames'] == 4
    assert video['tubes'] == [[0, 3], [3, 4]]  # the toy video_cfg: tubes of 3 frames
    assert set(video['stages']) == {'backbone', 'pixel_decoder', 'mask_decoder', 'total'}
    for row in video['stages'].values():
        assert 0 < row['min_s'] <= row['median_s'] <= row['max_s']
    assert video['frames_per_s'] > 0 and video['model_frames_per_s'] > 0
    assert 'frames/s end to end' in result.stdout


def test_deformable_attention_implementations_are_timed_and_compared():
    args = benchmark_tool.parse_args([str(TOY_CONFIG), '--what', 'msda', '--size', '64', '64',
                                      '--runs', '1', '--warmup', '0'])
    result = benchmark_tool.run(args)['msda']
    assert result['levels'] == [(8, 8), (4, 4), (2, 2)] and result['queries'] == 84
    timings = result['implementations']
    assert set(timings) == {'reference', 'points_major'}
    assert timings['reference']['max_abs_diff'] == 0
    assert timings['points_major']['max_abs_diff'] < 1e-5  # same result, another layout
    assert all(row['median_s'] > 0 for row in timings.values())


def test_compare_hf_without_transformers_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'transformers', None)  # import transformers fails
    with pytest.raises(SystemExit) as error:
        benchmark_tool.parse_args([str(TOY_CONFIG), '--compare-hf'])
    assert error.value.code == 2
    assert 'pip install transformers' in capsys.readouterr().err


def test_compare_hf_reads_the_paper_head_dimensions():
    cfg = Config.fromfile(REPO_ROOT / 'configs' / '_base_' / 'models' / 'omg_convl.py')
    assert benchmark_tool.head_dimensions(cfg.model.panoptic_head) == dict(
        hidden=256, mask=256, queries=300, encoder_layers=6, encoder_ffn=1024,
        encoder_heads=8, encoder_points=4, decoder_layers=9, decoder_ffn=2048,
        decoder_heads=8)
    cfg.model.panoptic_head.transformer_decoder.layer_cfg.cross_attn_cfg.num_heads = 4
    with pytest.raises(ValueError, match='one head count'):
        benchmark_tool.head_dimensions(cfg.model.panoptic_head)


def test_one_decoder_pass_for_segmentation_and_prompts_is_timed(tmp_path, toy_data_root):
    out = tmp_path / 'prompts.json'
    vocabulary = (f'model.vocabulary.ann_file={toy_data_root}/annotations/'
                  'panoptic_train2017.json')
    result = run_benchmark(['--what', 'prompts', '--threads', '1', '--size', '48', '64',
                            '--prompts', '3', '--runs', '1', '--warmup', '0', '--out', str(out),
                            '--cfg-options', vocabulary],
                           config=REPO_ROOT / 'configs' / 'toy' / 'omg_toy_interactive.py')
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    row = json.loads(out.read_text())['prompts']
    assert row['num_prompts'] == 3 and row['one_pass_s'] > 0 and row['two_passes_s'] > 0
    assert row['one_pass_over_two'] == row['one_pass_s'] / row['two_passes_s']
    assert 'segmentation + 3 clicks: one pass' in result.stdout
    refused = run_benchmark(['--what', 'prompts', '--runs', '1', '--warmup', '0',
                             '--cfg-options', 'model.prompt_encoder=None', vocabulary])
    assert refused.returncode != 0 and 'needs a config whose model has a prompt_encoder' in (
        refused.stdout + refused.stderr)


def test_hf_sizes_take_square_or_height_by_width():
    assert benchmark_tool._hf_size('512') == (512, 512)
    assert benchmark_tool._hf_size('800x1216') == (800, 1216)
    with pytest.raises(Exception, match='HxW'):
        benchmark_tool._hf_size('8x')


def test_whole_model_comparison_with_transformers(tiny_cfg):
    """--compare-hf --hf-model rows on the tiny model and a tiny transformers Mask2Former
    (transformers is in the dev extra for this test only)."""
    from seg.models import build_segmentor
    from seg.testing import hf_comparison
    model = build_segmentor(tiny_cfg)
    dims = dict(hidden=32, mask=32, queries=8, encoder_layers=1, encoder_ffn=64,
                encoder_heads=2, encoder_points=4, decoder_layers=2, decoder_ffn=64,
                decoder_heads=2)
    hf_model = hf_comparison.build_hf_model(
        dims, model.panoptic_head.text_classifier.num_classes, depths=(1, 1, 1, 1),
        channels=(8, 16, 32, 64))
    queries_before = model.panoptic_head.query_feat.weight.detach().clone()
    hf_queries_before = hf_model.model.transformer_module.queries_features.weight.detach().clone()
    rows = hf_comparison.compare_models(model, hf_model, [(64, 96)], hf_comparison.ROWS,
                                        runs=1, warmup=0, device='cpu')
    (row,) = rows
    assert row['size'] == [64, 96]
    assert 'train_step' in hf_comparison.ROWS
    for name in hf_comparison.ROWS:
        ours, theirs = (row['timings'][f'{side}_{name}']['median_s'] for side in ('ours', 'hf'))
        assert ours > 0 and theirs > 0 and row[f'{name}_ratio'] == ours / theirs
    for part in ('backbone', 'forward_losses', 'matching'):
        assert row['timings'][f'ours_{part}']['median_s'] > 0
    assert 'ours_backward_step' in row['timings']
    # the training steps were real (both models' queries moved) and left eval mode behind
    assert not torch.equal(model.panoptic_head.query_feat.weight, queries_before)
    assert not torch.equal(hf_model.model.transformer_module.queries_features.weight,
                           hf_queries_before)
    assert not model.training and not hf_model.training
    assert all(p.requires_grad for p in hf_model.model.pixel_level_module.encoder.parameters())
    table = hf_comparison.format_rows(rows)
    assert 'end_to_end' in table and 'train step split' in table
