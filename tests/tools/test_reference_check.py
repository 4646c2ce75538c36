"""tools/reference_check.py reproduces the reference cases (outputs of the published OMG-Seg code
at reduced size).

Always: the compact copies committed under ``tests/data/reference_cases/`` (see
``compact_case.py`` there), rebuilt into a temporary folder. Also, only when the folder exists
(this test then reads outside the repository, and its test ids say ``shared-``): every case of
``<repo>/../shared/reference_outputs/``, and a check that the committed compact copy of a case
of the same name still agrees with it file by file.
"""
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / 'tools' / 'reference_check.py'
COMPACT_ROOT = REPO_ROOT / 'tests' / 'data' / 'reference_cases'
SHARED_ROOT = REPO_ROOT.parent / 'shared' / 'reference_outputs'
# One line of each path of the check: all five paths ran and were compared.
EXPECTED_LINES = ('semantic/cross_attn_masks[2]', 'prompt/model_predict_sam_masks[0]',
                  'video/track_instances[0][1]', 'postproc/instances[1]',
                  'openvoc/open_voc_cls_results')


def _load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_tool():
    return _load_module('reference_check_tool', TOOL)


def load_compact():
    return _load_module('compact_reference_case', COMPACT_ROOT / 'compact_case.py')


def _cases():
    params = [pytest.param('committed', path, id=f'committed-{path.name}')
              for path in sorted(COMPACT_ROOT.iterdir()) if (path / 'compact.json').is_file()]
    # Outside the repository: used only when present (a CI checkout with ../shared).
    if SHARED_ROOT.is_dir():
        shared = sorted(path for path in SHARED_ROOT.iterdir() if (path / 'case.json').is_file())
        params += [pytest.param('shared', path, id=f'shared-{path.name}') for path in shared]
        if not shared:
            params.append(pytest.param('shared', None, id='shared-none'))
    return params


def test_a_compact_case_is_committed():
    assert any(param.values[0] == 'committed' for param in _cases())


@pytest.mark.parametrize('origin,case_dir', _cases())
def test_reference_case_passes(origin, case_dir, tmp_path, capsys):
    if case_dir is None:
        pytest.fail(f'{SHARED_ROOT} exists but holds no case folder with a case.json')
    if origin == 'committed':
        counts = load_compact().materialise(case_dir, tmp_path / case_dir.name)
        print(f'{case_dir.name}: {counts["weights"]} weights regenerated, '
              f'{counts["bit_identical"]} bit-identical to the reference')
        run_dir = tmp_path / case_dir.name
    else:
        run_dir = case_dir
    capsys.readouterr()
    assert load_tool().main([str(run_dir)]) == 0
    output = capsys.readouterr().out
    assert 'all reference cases pass' in output
    for name in EXPECTED_LINES:
        assert f'ok   {name}:' in output
    assert 'not compared' not in output
    assert 'FAIL' not in output
    if origin == 'shared' and (COMPACT_ROOT / case_dir.name / 'compact.json').is_file():
        _compact_copy_agrees(case_dir, tmp_path)


def _compact_copy_agrees(shared_case: Path, tmp_path: Path) -> None:
    """The committed compact copy rebuilds the shared case: same weights bit for bit (on the
    platform the case was made on: x86-64), same files except the keys it drops."""
    compact = load_compact()
    rebuilt = tmp_path / 'rebuilt'
    counts = compact.materialise(COMPACT_ROOT / shared_case.name, rebuilt)
    original = torch.load(shared_case / 'state_dict.pth', weights_only=True)
    ours = torch.load(rebuilt / 'state_dict.pth', weights_only=True)
    assert list(ours) == list(original)
    for key, value in original.items():
        torch.testing.assert_close(ours[key], value, rtol=1e-6, atol=1e-8, msg=key)
    print(f'{shared_case.name}: {counts["bit_identical"]} of {counts["weights"]} weights '
          'bit-identical')
    for name in compact.COPIED_FILES:
        assert (rebuilt / name).read_bytes() == (shared_case / name).read_bytes(), name
    for name in compact.COMPRESSED_FILES:
        dropped = compact.DROPPED_KEYS.get(name, ())
        if not dropped:
            assert (rebuilt / name).read_bytes() == (shared_case / name).read_bytes(), name
            continue
        full = torch.load(shared_case / name, weights_only=True)
        kept = torch.load(rebuilt / name, weights_only=True)
        assert sorted(kept) == sorted(key for key in full if key not in dropped), name
        for key in kept:
            torch.testing.assert_close(kept[key], full[key], rtol=0, atol=0, msg=f'{name}:{key}')


def test_compact_copy_with_a_wrong_recipe_is_refused(tmp_path):
    source = COMPACT_ROOT / 'case_small'
    broken = tmp_path / 'case_small'
    shutil.copytree(source, broken)
    manifest = json.loads((broken / 'compact.json').read_text())
    manifest['state_dict']['salt'] += '-wrong'
    (broken / 'compact.json').write_text(json.dumps(manifest))
    first_key = next(iter(manifest['state_dict']['tensors']))
    with pytest.raises(ValueError, match=f"regenerated weight '{first_key}' does not match"):
        load_compact().materialise(broken, tmp_path / 'out')


def test_damaged_compact_file_is_refused(tmp_path):
    broken = tmp_path / 'case_small'
    shutil.copytree(COMPACT_ROOT / 'case_small', broken)
    data = bytearray((broken / 'out_postproc.pth.xz').read_bytes())
    (broken / 'out_postproc.pth.xz').write_bytes(bytes(data[:len(data) // 2]))
    manifest = json.loads((broken / 'compact.json').read_text())
    # Skip the slow weight regeneration: only the file part is under test here.
    manifest['state_dict']['tensors'] = {}
    (broken / 'compact.json').write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match='out_postproc.pth.xz: cannot decompress'):
        load_compact().materialise(broken, tmp_path / 'out')


def test_incomplete_case_folder_is_refused(tmp_path):
    (tmp_path / 'case.json').write_text('{"format": "omgseg-reference-case/1"}')
    with pytest.raises(FileNotFoundError, match='state_dict.pth'):
        load_tool().main([str(tmp_path)])
