"""tools/make_toy_data.py command line."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'tools' / 'make_toy_data.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('make_toy_data', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_the_coco_panoptic_layout(tmp_path):
    out = tmp_path / 'toy'
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), '--out', str(out), '--num-train', '3', '--num-val', '2',
         '--seed', '1'], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert completed.returncode == 0, completed.stderr
    assert 'train: 3/3 images' in completed.stdout and 'val: 2/2 images' in completed.stdout
    for split, count in (('train', 3), ('val', 2)):
        content = json.loads((out / 'annotations' / f'panoptic_{split}2017.json').read_text())
        assert len(content['images']) == count
        assert len(list((out / f'{split}2017').glob('*.jpg'))) == count
        assert len(list((out / 'annotations' / f'panoptic_{split}2017').glob('*.png'))) == count


def test_cli_refuses_a_non_empty_folder_unless_overwrite(tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / 'toy'
    out.mkdir()
    (out / 'keep.txt').write_text('user file')
    assert tool.main(['--out', str(out), '--num-train', '1', '--num-val', '1']) == 1
    assert 'not empty' in capsys.readouterr().err
    assert not (out / 'annotations').exists()
    assert tool.main(['--out', str(out), '--num-train', '1', '--num-val', '1',
                      '--overwrite']) == 0
    assert (out / 'annotations' / 'panoptic_val2017.json').is_file()
    assert (out / 'keep.txt').read_text() == 'user file'  # only the toy layout is replaced


def test_cli_defaults_match_the_documented_ones():
    args = load_tool().parse_args([])
    assert (args.out, args.num_train, args.num_val, args.seed, args.overwrite) == \
        ('data/toy_coco', 200, 40, 0, False)
