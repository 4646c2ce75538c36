"""Pointing a config at a miniature tree: every ``data/...`` path moved under another root."""
from pathlib import Path
from typing import Any, Union

DATA_PREFIX = 'data/'


def move_data_paths(value: Any, root: Union[str, Path], prefix: str = DATA_PREFIX) -> Any:
    """A copy of a config value (dicts, lists, tuples, nested) in which every string starting
    with ``prefix`` (the repository's ``data/``) starts with ``root`` instead, e.g.
    ``'data/coco/'`` -> ``'<root>/coco/'``; other values are kept as they are."""
    if isinstance(value, dict):
        return {key: move_data_paths(item, root, prefix) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(move_data_paths(item, root, prefix) for item in value)
    if isinstance(value, str) and value.startswith(prefix):
        moved = str(Path(root) / value[len(prefix):])
        return moved + '/' if value.endswith('/') else moved
    return value
