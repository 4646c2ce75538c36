"""tools/check_dataset.py: every sample of a config's dataset is validated; problems are listed
with their files and make the exit status non-zero."""
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from seg.structures.panoptic_io import read_panoptic_png, write_panoptic_png

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('check_dataset_tool',
                                                  REPO_ROOT / 'tools' / 'check_dataset.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(root: Path, *extra: str, split: str = 'train') -> int:
    return load_tool().main([str(TOY_CONFIG), '--split', split, *extra, '--cfg-options',
                             f'{split}_dataloader.dataset.data_root={root}/'])


@pytest.fixture
def data_copy(toy_data_root, tmp_path) -> Path:
    return Path(shutil.copytree(toy_data_root, tmp_path / 'toy'))


def test_clean_dataset_passes(toy_data_root, capsys):
    assert run_tool(toy_data_root, split='test') == 0
    out = capsys.readouterr().out
    assert '4 samples checked, 0 with errors' in out and 'dataset OK' in out


def test_every_problem_is_reported_with_its_file(data_copy, tmp_path, capsys):
    images = sorted((data_copy / 'train2017').iterdir())
    pngs = sorted((data_copy / 'annotations' / 'panoptic_train2017').iterdir())
    images[0].write_bytes(b'')  # zero bytes
    images[1].write_bytes(images[1].read_bytes()[:-2])  # truncated
    ids = read_panoptic_png(pngs[2])
    ids[ids == ids.max()] = 777  # an id the json does not list (its segment loses its pixels)
    write_panoptic_png(pngs[2], ids)
    write_panoptic_png(pngs[3], read_panoptic_png(pngs[3])[:-2])  # wrong size
    ann_file = data_copy / 'annotations' / 'panoptic_train2017.json'
    content = json.loads(ann_file.read_text())
    content['images'][4]['width'] += 1
    content['annotations'][5]['segments_info'][0]['area'] += 3
    ann_file.write_text(json.dumps(content))

    report_file = tmp_path / 'findings.json'
    assert run_tool(data_copy, '--out', str(report_file)) == 1
    out = capsys.readouterr().out
    assert '8 samples checked, 5 with errors, 6 error(s), 1 warning(s)' in out
    for text in ('error: unreadable image: 2', 'error: PNG id missing from segments_info: 1',
                 'error: json segment absent from the PNG: 1',
                 'error: PNG size differs from the image: 1',
                 'error: image size differs from the json: 1',
                 'warning: json area differs from the PNG: 1', '6 error(s) found'):
        assert text in out, text
    assert f'{images[0]} (0 bytes)' in out
    assert 'contains segment id(s) [777]' in out
    findings = json.loads(report_file.read_text())[0]['problems']
    assert [(item['index'], item['kind']) for item in findings] == [
        (0, 'unreadable image'), (1, 'unreadable image'), (2, 'PNG id missing from segments_info'),
        (2, 'json segment absent from the PNG'), (3, 'PNG size differs from the image'),
        (4, 'image size differs from the json'), (5, 'json area differs from the PNG')]


def test_parallel_jobs_find_the_same_problems(data_copy, capsys):
    sorted((data_copy / 'train2017').iterdir())[3].write_bytes(b'')
    assert run_tool(data_copy, '--jobs', '2') == 1
    assert '1 with errors, 1 error(s)' in capsys.readouterr().out


def test_broken_json_is_reported_without_traceback(data_copy, capsys):
    ann_file = data_copy / 'annotations' / 'panoptic_train2017.json'
    content = json.loads(ann_file.read_text())
    content['annotations'][1]['segments_info'][0]['category_id'] = 999
    ann_file.write_text(json.dumps(content))
    assert run_tool(data_copy) == 1
    err = capsys.readouterr().err
    assert 'cannot build the train dataset' in err
    assert 'annotations[1].segments_info[0] has category_id 999' in err
