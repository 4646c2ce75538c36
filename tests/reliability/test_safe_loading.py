"""Loading a file never runs code from it: every torch.load in seg/ and tools/ passes
weights_only=True, no pickle loader is used, and MMEngine's local checkpoint loader is ours."""
import ast
from pathlib import Path

from mmengine.runner.checkpoint import CheckpointLoader

from seg.engine import checkpoint_loading

REPO_ROOT = Path(__file__).resolve().parents[2]
UNSAFE_CALLS = {('pickle', 'load'), ('pickle', 'loads'), ('torch.jit', 'load'),
                ('np', 'load'), ('numpy', 'load')}


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f'{dotted(node.value)}.{node.attr}'
    return ''


def unsafe_loads(path: Path) -> list:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        owner, _, attr = name.rpartition('.')
        where = f'{path}:{node.lineno} {name}'
        if name in ('torch.load', 'torch.serialization.load'):
            flags = {kw.arg: kw.value for kw in node.keywords}
            value = flags.get('weights_only')
            if not (isinstance(value, ast.Constant) and value.value is True):
                found.append(where + ' without weights_only=True')
        elif (owner, attr) in UNSAFE_CALLS:
            flags = {kw.arg: kw.value for kw in node.keywords}
            allow = flags.get('allow_pickle')
            if attr == 'load' and owner in ('np', 'numpy') and not (
                    isinstance(allow, ast.Constant) and allow.value is True):
                continue  # numpy refuses pickles unless allow_pickle=True
            found.append(where)
    return found


def test_no_unsafe_deserialisation_in_the_package_or_tools():
    files = sorted((REPO_ROOT / 'seg').rglob('*.py')) + sorted((REPO_ROOT / 'tools').rglob('*.py'))
    assert len(files) > 20
    problems = [problem for path in files for problem in unsafe_loads(path)]
    assert problems == []


def test_the_checker_spots_unsafe_calls(tmp_path):
    sample = tmp_path / 'unsafe.py'
    sample.write_text('import pickle, torch, numpy as np\n'
                      'torch.load("a")\ntorch.load("b", weights_only=False)\n'
                      'pickle.load(open("c", "rb"))\ntorch.load("d", weights_only=True)\n'
                      'np.load("e")\nnp.load("f", allow_pickle=True)\n')
    assert [problem.split(' ', 1)[0].rsplit(':', 1)[1] for problem in unsafe_loads(sample)] == [
        '2', '3', '4', '7']


def test_local_checkpoints_go_through_the_allow_list_loader():
    import seg.engine  # noqa: F401  (registers the loader)
    loader = CheckpointLoader._get_checkpoint_loader('/some/local/file.pth')
    assert loader is checkpoint_loading._load_local_checkpoint
