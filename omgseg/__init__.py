"""``omgseg``: the import name of the ``omgseg`` distribution, an alias of ``seg``.

``import omgseg.apis`` gives the very module ``seg.apis`` (same object, same classes, same
registries): ``omgseg.apis.Predictor is seg.apis.Predictor``. The code still lives in ``seg/``
(the name the configs and checkpoints use); ``omgseg`` is the name to write in new code,
because a different project publishes a ``seg`` package on the Python package index.

After a regular (not editable) install this folder also holds the shipped ``configs/`` and
``ext/`` (see setup.py and ``seg.utils.paths.package_data_root``).
"""
import importlib
import importlib.abc
import importlib.util
import sys

import seg as _seg
from seg import *  # noqa: F401,F403
from seg import __version__  # noqa: F401

_TARGET = 'seg'


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``omgseg.X`` as the module ``seg.X`` itself (no second copy is executed)."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(__name__ + '.'):
            return None
        target_name = _TARGET + fullname[len(__name__):]
        try:
            target_spec = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            return None
        if target_spec is None:
            return None  # not a seg module: e.g. omgseg/configs of an installed package
        return importlib.util.spec_from_loader(
            fullname, self, is_package=target_spec.submodule_search_locations is not None)

    def create_module(self, spec):
        module = importlib.import_module(_TARGET + spec.name[len(__name__):])
        # importlib sets __spec__ on the returned module: remember seg's to put it back.
        self._specs = getattr(self, '_specs', {})
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # The module is seg's, already executed; keep its own spec (pickling, reloads).
        module.__spec__ = self._specs.pop(module.__spec__.name, module.__spec__)


if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())

__all__ = list(getattr(_seg, '__all__', []))
