"""Read the weights of a published checkpoint without running code from the file.

Published OMG-Seg files are either bare state dicts or MMEngine checkpoints (``state_dict`` plus
``meta``, ``message_hub``, optimizer state...). The extra entries can hold pickled Python objects
of libraries this code base does not use (MMEngine's ``HistoryBuffer``, numpy scalars, config
classes...). ``torch.load(weights_only=True)`` refuses any class it does not know, so every
class the file names that is not a plain tensor type is mapped to :class:`UnreadableObject`, an
inert stand-in that only stores its arguments: loading never imports or calls anything named by
the file, and the tensors come out intact.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple, Union

import torch

PathLike = Union[str, Path]
# Containers that may hold the model weights, tried in this order.
STATE_DICT_CONTAINER_KEYS = ('state_dict', 'model', 'module')


class UnreadableObject:
    """Inert placeholder for an object of a class the checkpoint names (never imported)."""
    qualified_name = '?'

    def __new__(cls, *args: Any, **kwargs: Any) -> 'UnreadableObject':
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f'<unread {self.qualified_name}>'


def _placeholder_for(name: str) -> type:
    return type('Unread_' + name.replace('.', '_'), (UnreadableObject,),
                dict(qualified_name=name))


@dataclass
class CheckpointContent:
    """What :func:`read_checkpoint_weights` found."""
    state_dict: Dict[str, torch.Tensor]
    container: str  # 'bare state dict' or the key holding it
    other_entries: List[str] = field(default_factory=list)  # e.g. meta, optimizer
    unread_classes: List[str] = field(default_factory=list)


def _load_weights_only(file: Path) -> Tuple[Any, List[str]]:
    try:
        foreign = torch.serialization.get_unsafe_globals_in_checkpoint(str(file))
    except Exception:
        # Not a zip checkpoint (legacy format, damaged or foreign file): plain weights_only
        # loading below accepts what it can and explains the rest.
        foreign = []
    placeholders = [(_placeholder_for(name), name) for name in foreign]
    try:
        with torch.serialization.safe_globals(placeholders):
            content = torch.load(file, map_location='cpu', weights_only=True)
    except Exception as error:
        raise ValueError(f'cannot read checkpoint {file}: {type(error).__name__}: {error}. '
                         'The file is damaged or not a torch checkpoint.') from error
    return content, list(foreign)


def _is_state_dict(value: Any) -> bool:
    return (isinstance(value, Mapping) and len(value) > 0
            and all(isinstance(key, str) for key in value)
            and all(isinstance(item, torch.Tensor) for item in value.values()))


def read_checkpoint_weights(path: PathLike) -> CheckpointContent:
    """The tensor state dict of a checkpoint file (bare, or under ``state_dict``/``model``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: unreadable file, or no mapping of names to tensors inside it.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f'checkpoint file not found: {file}')
    content, foreign = _load_weights_only(file)
    if _is_state_dict(content):
        return CheckpointContent(dict(content), 'bare state dict', [], foreign)
    if isinstance(content, Mapping):
        for key in STATE_DICT_CONTAINER_KEYS:
            if key in content and _is_state_dict(content[key]):
                others = [str(k) for k in content if k != key]
                return CheckpointContent(dict(content[key]), key, others, foreign)
        shown = sorted(str(key) for key in content)[:20]
        raise ValueError(f'checkpoint {file} holds no state dict: expected a mapping of names to '
                         f'tensors, bare or under one of {list(STATE_DICT_CONTAINER_KEYS)}; its '
                         f'top-level keys are {shown}')
    raise ValueError(f'checkpoint {file} holds a {type(content).__name__}, not a state dict')
