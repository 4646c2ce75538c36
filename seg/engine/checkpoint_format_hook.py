"""Keeps MMEngine checkpoints loadable with ``torch.load(weights_only=True)``.

MMEngine stores the message hub's ``HistoryBuffer`` objects (pickled with references to their
bound statistics methods, i.e. ``getattr``) and numpy scalars in every checkpoint. Allowing
``getattr`` in the unpickler would allow arbitrary attribute walks, so instead this hook writes
those entries as plain tensors / numbers before saving and rebuilds them after loading.
"""
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging.history_buffer import HistoryBuffer

from seg.registry import HOOKS

_HISTORY_TAG = '__history_buffer__'


def to_plain(value: Any) -> Any:
    """Replace HistoryBuffers and numpy values, recursively, by tensors and Python numbers."""
    if isinstance(value, HistoryBuffer):
        log_history, count_history = value.data
        return {_HISTORY_TAG: True, 'log_history': torch.as_tensor(log_history),
                'count_history': torch.as_tensor(count_history),
                'max_length': int(value.max_length)}
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        converted = type(value)() if type(value) is not dict else {}
        for key, item in value.items():
            converted[key] = to_plain(item)
        return converted
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(to_plain(item) for item in value)
    return value


def from_plain(value: Any) -> Any:
    """Inverse of :func:`to_plain` for HistoryBuffers (numbers stay Python numbers)."""
    if isinstance(value, dict):
        if value.get(_HISTORY_TAG):
            return HistoryBuffer(value['log_history'].tolist(), value['count_history'].tolist(),
                                 value['max_length'])
        for key in list(value):
            value[key] = from_plain(value[key])
    return value


@HOOKS.register_module()
class CheckpointFormatHook(Hook):
    """Saves the message hub in plain form and restores it on load (resume / load_from)."""

    priority = 'LOWEST'  # after every other hook has added its entries

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in ('message_hub', 'meta'):
            if key in checkpoint:
                checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain(checkpoint['message_hub'])
