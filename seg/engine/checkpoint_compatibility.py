"""Refuse checkpoints that do not fit the model instead of loading them partially.

MMEngine loads ``load_from`` / ``--checkpoint`` / ``--resume`` files with ``strict=False``: keys
that do not match are only logged, so a checkpoint of another model silently leaves most
weights at their initial values. Our tools add :class:`CheckpointCompatibilityHook`, which
compares the file's ``state_dict`` with the model before anything is copied and raises.
"""
import logging
import re
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from seg.registry import HOOKS

_SHOWN_KEYS = 10


@dataclass
class StateDictComparison:
    """How a checkpoint's ``state_dict`` fits a model's."""
    matched: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)  # in the model, not in the file
    unexpected: List[str] = field(default_factory=list)  # in the file, not in the model
    shape_mismatch: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def is_exact(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_mismatch)

    def describe(self) -> str:
        parts = [f'{len(self.matched)} tensors match']
        for title, keys in (('missing from the checkpoint', self.missing),
                            ('unexpected in the checkpoint', self.unexpected)):
            if keys:
                parts.append(f'{len(keys)} {title}: {_preview(keys)}')
        if self.shape_mismatch:
            shown = [f'{key} (checkpoint {tuple(ckpt)}, model {tuple(model)})'
                     for key, ckpt, model in self.shape_mismatch]
            parts.append(f'{len(shown)} with another shape: {_preview(shown)}')
        return '; '.join(parts)


def _preview(items: Sequence[str]) -> str:
    shown = ', '.join(items[:_SHOWN_KEYS])
    return shown + (f', ... ({len(items) - _SHOWN_KEYS} more)' if len(items) > _SHOWN_KEYS else '')


def checkpoint_state_dict(checkpoint: Mapping,
                          revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''),)
                          ) -> Mapping[str, torch.Tensor]:
    """The weights of a loaded checkpoint, with keys revised as MMEngine does before loading."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise ValueError(f'checkpoint holds no state_dict (got {type(state).__name__})')
    revised = {}
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    return revised


def compare_state_dicts(model_state: Mapping[str, torch.Tensor],
                        checkpoint_state: Mapping[str, torch.Tensor],
                        ignore: Sequence[str] = ()) -> StateDictComparison:
    """Keys and shapes of ``checkpoint_state`` against ``model_state``; keys matching any
    regular expression of ``ignore`` are left out."""
    patterns = [re.compile(pattern) for pattern in ignore]

    def kept(key: str) -> bool:
        return not any(pattern.search(key) for pattern in patterns)

    result = StateDictComparison()
    for key, value in model_state.items():
        if not kept(key):
            continue
        if key not in checkpoint_state:
            result.missing.append(key)
            continue
        stored = checkpoint_state[key]
        stored_shape = tuple(getattr(stored, 'shape', ()))
        if stored_shape != tuple(value.shape):
            result.shape_mismatch.append((key, stored_shape, tuple(value.shape)))
        else:
            result.matched.append(key)
    result.unexpected = [key for key in checkpoint_state if key not in model_state and kept(key)]
    return result


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Checks every loaded checkpoint (``load_from``, ``--checkpoint``, ``--resume``) against
    the model before MMEngine copies the weights.

    Args:
        strict: raise ``KeyError`` (naming the missing / unexpected / reshaped keys) unless the
            checkpoint fits exactly. With ``strict=False`` a partial fit is logged as a
            warning, but a checkpoint that shares no tensor with the model still raises.
        ignore_keys: regular expressions of keys allowed to differ (e.g. a head being
            replaced for fine-tuning), in either mode.
    """

    priority = 'VERY_HIGH'  # before any other hook looks at the loaded weights

    def __init__(self, strict: bool = True, ignore_keys: Sequence[str] = ()) -> None:
        if isinstance(ignore_keys, str):
            ignore_keys = [ignore_keys]
        for pattern in ignore_keys:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f'CheckpointCompatibilityHook ignore_keys: invalid regular '
                                 f'expression {pattern!r}: {error}') from error
        self.strict = strict
        self.ignore_keys = tuple(ignore_keys)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = _checkpoint_source(runner)
        comparison = compare_state_dicts(model.state_dict(), checkpoint_state_dict(checkpoint),
                                         self.ignore_keys)
        if comparison.is_exact:
            return
        if not comparison.matched:
            raise KeyError(f'checkpoint {source} does not fit the model {type(model).__name__} '
                           f'at all (is it from another model?): {comparison.describe()}')
        if self.strict:
            raise KeyError(
                f'checkpoint {source} does not fit the model {type(model).__name__}: '
                f'{comparison.describe()}. To load it partially on purpose, add '
                "dict(type='CheckpointCompatibilityHook', strict=False) (or ignore_keys=[...]) "
                'to custom_hooks')
        print_log(f'checkpoint {source} fits the model only partially: {comparison.describe()}',
                  logger='current', level=logging.WARNING)


def _checkpoint_source(runner) -> Optional[str]:
    """The file being loaded, as far as the runner's config tells."""
    cfg = getattr(runner, 'cfg', None) or {}
    load_from = cfg.get('load_from') if hasattr(cfg, 'get') else None
    if load_from:
        return str(load_from)
    if hasattr(cfg, 'get') and cfg.get('resume'):
        from mmengine.runner.checkpoint import find_latest_checkpoint
        return find_latest_checkpoint(runner.work_dir)
    return None
