"""Checkpoint loading that never executes code from the file.

torch >= 2.6 loads with ``weights_only=True`` by default, which refuses some Python objects
MMEngine writes into its checkpoints. Instead of falling back to unrestricted unpickling, every
local checkpoint is read with ``weights_only=True`` and an explicit allow-list of extra types
(CheckpointFormatHook keeps our own checkpoints inside it), so resuming works and a foreign
file cannot run code.
"""
import collections
from pathlib import Path
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


def _numpy_globals() -> List[Any]:
    """The numpy types that pickled arrays and scalars reference (names moved in numpy 2)."""
    types: List[Any] = [np.ndarray, np.dtype]
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        types.extend([module._reconstruct, module.scalar])
        break
    types.extend(type(np.dtype(name)) for name in (
        'float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
        'uint32', 'uint64', 'bool'))
    return types


# Counter: MultiStepLR's milestones. HistoryBuffer / numpy: checkpoints written by plain MMEngine
# (ours are converted to tensors by CheckpointFormatHook).
CHECKPOINT_ALLOWED_GLOBALS: List[Any] = [collections.Counter, collections.OrderedDict,
                                         HistoryBuffer, *_numpy_globals()]


def load_checkpoint_file(path: str, map_location: Optional[str] = 'cpu') -> Any:
    """``torch.load`` with ``weights_only=True`` plus :data:`CHECKPOINT_ALLOWED_GLOBALS`.

    Raises FileNotFoundError for a missing file and ValueError naming the file when it is
    damaged or holds objects outside the allow-list.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f'checkpoint file not found: {file}')
    try:
        with torch.serialization.safe_globals(CHECKPOINT_ALLOWED_GLOBALS):
            return torch.load(file, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError...
        raise ValueError(
            f'cannot load checkpoint {file}: {type(error).__name__}: {error}. The file is damaged, '
            'not a torch checkpoint, or holds Python objects outside the allowed list '
            '(seg.engine.checkpoint_loading.CHECKPOINT_ALLOWED_GLOBALS).') from error


@CheckpointLoader.register_scheme(prefixes='', force=True)
def _load_local_checkpoint(filename: str, map_location: Optional[str] = None) -> Any:
    """MMEngine's loader for local paths (``load_from``, ``--resume``), made safe."""
    return load_checkpoint_file(filename, map_location)
