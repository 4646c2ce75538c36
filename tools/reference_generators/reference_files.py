"""Where the reference generators read the reference case and write the small test fixtures.

The case (outputs of the published OMG-Seg code, e.g. ``case_small``) lives beside the
repository in ``../shared/reference_outputs/``; the fixtures go to ``tests/data/reference_small``.
"""
import sys
from pathlib import Path
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CASE_DIR = REPO_ROOT.parent / 'shared' / 'reference_outputs' / 'case_small'
FIXTURE_DIR = REPO_ROOT / 'tests' / 'data' / 'reference_small'


def case_dir_from_argv() -> Path:
    """The case folder given on the command line, else ``DEFAULT_CASE_DIR``."""
    case_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CASE_DIR
    if not (case_dir / 'case.json').is_file():
        sys.exit(f'{case_dir} is not a reference case folder (no case.json)')
    return case_dir


def load_case_file(case_dir: Path, name: str) -> Any:
    return torch.load(case_dir / name, weights_only=True)


def save_fixture(name: str, content: Any) -> None:
    path = FIXTURE_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(content, path)
    print(f'wrote {path} ({path.stat().st_size} bytes)')
