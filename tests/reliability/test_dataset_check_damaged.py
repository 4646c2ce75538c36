"""tools/check_dataset.py on damaged dataset files not covered by tests/tools/test_check_dataset.py
(issue 19): truncated / greyscale / 16-bit panoptic PNGs are listed as findings naming the PNG;
json with missing keys, duplicate image ids, an annotation for an unknown image or no
annotations stop the build with one line naming the json (exit status 1 in both cases, the
tool's contract), never a traceback."""
import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def run_tool(root: Path) -> int:
    spec = importlib.util.spec_from_file_location('check_dataset_tool_damaged',
                                                  REPO_ROOT / 'tools' / 'check_dataset.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([str(TOY_CONFIG), '--split', 'test', '--cfg-options',
                        f'test_dataloader.dataset.data_root={root}/'])


def first_png(root):
    return sorted((root / 'annotations' / 'panoptic_val2017').iterdir())[0]


def edit_json(root, change):
    path = root / 'annotations' / 'panoptic_val2017.json'
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def rewrite(path, change):
    cv2.imwrite(str(path), change(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)))


FILE_DAMAGE = [
    ('truncated PNG', lambda r: truncate(first_png(r)), 'cannot decode image file'),
    ('greyscale PNG', lambda r: rewrite(first_png(r), lambda a: a[..., 0]),
     'expected an 8-bit RGB panoptic PNG'),
    ('16-bit PNG', lambda r: rewrite(first_png(r), lambda a: a.astype(np.uint16) * 257),
     'dtype uint16'),
]
JSON_DAMAGE = [
    ('image without file_name', lambda r: edit_json(r, lambda d: dict(
        d, images=[{k: v for k, v in i.items() if k != 'file_name'} for i in d['images']])),
     'has no key "file_name"'),
    ('duplicate image ids', lambda r: edit_json(r, lambda d: dict(
        d, images=d['images'] + d['images'][:1])), 'repeats image id'),
    ('annotation of an unknown image', lambda r: edit_json(r, lambda d: dict(
        d, annotations=d['annotations'] + [dict(d['annotations'][0], image_id=999)])),
     'refers to image_id 999'),
    ('no annotations', lambda r: edit_json(r, lambda d: dict(d, annotations=[])),
     'have no entry in'),
]


@pytest.fixture
def data_copy(toy_data_root, tmp_path):
    return Path(shutil.copytree(toy_data_root, tmp_path / 'toy'))


@pytest.mark.parametrize('damage,message', [case[1:] for case in FILE_DAMAGE],
                         ids=[case[0] for case in FILE_DAMAGE])
def test_damaged_png_is_a_finding_naming_it(data_copy, capsys, damage, message):
    damage(data_copy)
    assert run_tool(data_copy) == 1
    out = capsys.readouterr().out
    assert 'unreadable panoptic PNG: 1' in out
    finding = [line for line in out.splitlines() if line.startswith('  [error] sample 0:')]
    assert len(finding) == 1 and message in finding[0] and first_png(data_copy).name in \
        finding[0], out


@pytest.mark.parametrize('damage,message', [case[1:] for case in JSON_DAMAGE],
                         ids=[case[0] for case in JSON_DAMAGE])
def test_damaged_json_stops_with_one_line_naming_it(data_copy, capsys, damage, message):
    damage(data_copy)
    assert run_tool(data_copy) == 1
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'Traceback' not in err, err
    assert err.startswith('cannot build the test dataset') and 'panoptic_val2017.json' in err
    assert message in err, err
