"""Where files live: caches this package writes, and the files it ships (``configs/``, ``ext/``).

Shipped files: a checkout (or an editable install) has ``configs/`` and ``ext/`` at the
repository root, next to ``seg/``; ``pip install`` (not editable) installs them inside the
``omgseg`` package (``site-packages/omgseg/configs``, ``.../omgseg/ext``, see setup.py).
:func:`package_data_root` finds whichever is there, so a config or a class-names file named
``configs/...`` / ``ext/...`` is found from any current directory (:func:`resolve_data_path`).
"""
import os
from pathlib import Path
from typing import List, Union

CACHE_ENV_VAR = 'OMGSEG_CACHE'
# The folders shipped with the package; relative paths starting with one of them can be
# resolved against the package (see resolve_data_path).
PACKAGE_DATA_DIRS = ('configs', 'ext')
MODEL_INDEX_NAME = 'model-index.yml'  # in configs/

PathLike = Union[str, os.PathLike]


def cache_root() -> Path:
    """Root of every cache this package writes: `$OMGSEG_CACHE`, else `~/.cache/omgseg`."""
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / '.cache' / 'omgseg'


def embedding_cache_dir() -> Path:
    """Default folder of text-embedding files (`<cache_root>/embeddings`)."""
    return cache_root() / 'embeddings'


def checkpoint_cache_dir() -> Path:
    """Default folder of converted checkpoints (`<cache_root>/checkpoints`)."""
    return cache_root() / 'checkpoints'


def _package_data_candidates() -> List[Path]:
    # seg/ and omgseg/ are installed side by side; in a checkout, omgseg/ (the import alias)
    # holds no data and the repository root does.
    parent = Path(__file__).resolve().parents[2]
    return [parent / 'omgseg', parent]


def package_data_root() -> Path:
    """The folder holding the shipped ``configs/`` and ``ext/``: the installed ``omgseg``
    package, or the checkout's root. Raises FileNotFoundError when neither has both."""
    candidates = _package_data_candidates()
    for folder in candidates:
        if all((folder / name).is_dir() for name in PACKAGE_DATA_DIRS):
            return folder
    tried = ', '.join(str(folder) for folder in candidates)
    raise FileNotFoundError(f'the package files ({" and ".join(PACKAGE_DATA_DIRS)}/) are in '
                            f'none of: {tried}; reinstall the package (pip install <checkout>)')


def resolve_data_path(path: PathLike) -> Path:
    """``path`` as given when it exists (relative to the current directory); otherwise, when it
    is a relative path under one of the shipped folders (``configs/...``, ``ext/...``), the
    package's copy. Raises FileNotFoundError naming every place looked at.

    ``resolve_data_path('configs/toy/omg_toy_coco_panoptic.py')`` works from any directory;
    a file of the same relative name in the current directory takes precedence.
    """
    given = Path(path).expanduser()
    if given.exists():
        return given
    if given.is_absolute() or not given.parts or given.parts[0] not in PACKAGE_DATA_DIRS:
        raise FileNotFoundError(f'{given}: no such file or folder (relative to {Path.cwd()})')
    packaged = package_data_root() / given
    if not packaged.exists():
        raise FileNotFoundError(f'{given}: neither relative to {Path.cwd()} nor in the package '
                                f'files ({packaged})')
    return packaged


def model_index_path() -> Path:
    """The model index shipped with the configs (``configs/model-index.yml``)."""
    return package_data_root() / 'configs' / MODEL_INDEX_NAME
