"""`tools/evaluate.py coco-panoptic / vipseg-vpq / vipseg-stq --nproc 2` gives exactly the
single-process result on small generated COCO-panoptic / VIPSeg-format sets."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from seg.testing.evaluation_benchmark import make_image, write_panoptic_set, write_vipseg_set

REPO_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('evaluate_cli', REPO_ROOT / 'tools' / 'evaluate.py')
evaluate_cli = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate_cli)


@pytest.fixture(scope='module')
def video_set(tmp_path_factory) -> list:
    files = write_vipseg_set(tmp_path_factory.mktemp('vipseg'), num_videos=3, num_frames=3,
                             num_segments=12, size=(40, 56), seed=1)
    return file_arguments(files)


def run(*argv) -> dict:
    return evaluate_cli.main([*argv, '--no-progress'], echo=lambda line: None)


def file_arguments(files: dict) -> list:
    return [item for key in ('gt_json', 'gt_dir', 'pred_json', 'pred_dir')
            for item in (f'--{key.replace("_", "-")}', str(files[key]))]


def test_pq_with_two_processes_equals_one(tmp_path):
    rng = np.random.default_rng(0)
    images = [make_image(rng, 12, (40, 56)) for _ in range(5)]
    arguments = file_arguments(write_panoptic_set(tmp_path, images))
    single = run('coco-panoptic', *arguments)
    assert run('coco-panoptic', *arguments, '--nproc', '2') == single
    assert 0 < single['All']['pq'] < 1


def test_vpq_with_two_processes_equals_one(video_set):
    single = run('vipseg-vpq', *video_set, '--windows', '1', '2', '3')
    parallel = run('vipseg-vpq', *video_set, '--windows', '1', '2', '3', '--nproc', '2')
    assert parallel == single
    assert single['per_nframes']['3']['num_windows'] == 3  # one 3-frame window per video
    assert 0 < single['VPQ']['All'] < 1


def test_stq_with_two_processes_equals_one(video_set):
    single = run('vipseg-stq', *video_set)
    parallel = run('vipseg-stq', *video_set, '--nproc', '2')
    assert parallel == single
    assert single['ID_per_seq'] == ['video_0000', 'video_0001', 'video_0002']
    assert 0 < single['STQ'] < 1


def test_worker_error_names_the_missing_file(video_set, tmp_path):
    argv = list(video_set)
    pred_dir = Path(argv[argv.index('--pred-dir') + 1])
    copy = tmp_path / 'pred'
    for path in pred_dir.rglob('*.png'):
        if path.parent.name != 'video_0001' or path.name != '00002.png':
            (copy / path.parent.name).mkdir(parents=True, exist_ok=True)
            (copy / path.parent.name / path.name).write_bytes(path.read_bytes())
    argv[argv.index('--pred-dir') + 1] = str(copy)
    with pytest.raises(FileNotFoundError, match=r'video_0001/00002\.png'):
        run('vipseg-stq', *argv, '--nproc', '2')


def test_nproc_must_be_positive(video_set, capsys):
    with pytest.raises(SystemExit):
        run('vipseg-vpq', *video_set, '--nproc', '0')
    assert 'must be >= 1, got 0' in capsys.readouterr().err
