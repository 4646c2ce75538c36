"""tools/reference_check.py reproduces every reference case of ../shared/reference_outputs.

The cases (outputs of the published OMG-Seg code at reduced size) live beside the repository:
``<repo>/../shared/reference_outputs/<case>/``. They are test data of the CI checkout; a
checkout without them fails here with a message saying where they were looked for.
"""
import importlib.util
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / 'tools' / 'reference_check.py'
CASES_ROOT = REPO_ROOT.parent / 'shared' / 'reference_outputs'


def load_tool():
    spec = importlib.util.spec_from_file_location('reference_check_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_cases():
    if not CASES_ROOT.is_dir():
        pytest.fail(f'reference cases not found: expected case folders (case.json, '
                    f'state_dict.pth, out_*.pth) under {CASES_ROOT} (../shared next to the '
                    f'repository)')
    cases = sorted(path for path in CASES_ROOT.iterdir() if (path / 'case.json').is_file())
    if not cases:
        pytest.fail(f'{CASES_ROOT} holds no reference case folder with a case.json')
    return cases


def test_every_reference_case_passes(capsys):
    cases = reference_cases()
    assert load_tool().main([str(case) for case in cases]) == 0
    output = capsys.readouterr().out
    assert 'all reference cases pass' in output
    for name in ('semantic/cross_attn_masks[2]', 'prompt/model_predict_sam_masks[0]',
                 'video/track_instances[0][1]', 'postproc/instances[1]',
                 'openvoc/open_voc_cls_results'):
        assert f'ok   {name}:' in output
    assert 'not compared' not in output


def test_incomplete_case_folder_is_refused(tmp_path):
    (tmp_path / 'case.json').write_text('{"format": "omgseg-reference-case/1"}')
    with pytest.raises(FileNotFoundError, match='state_dict.pth'):
        load_tool().main([str(tmp_path)])
