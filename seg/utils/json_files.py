"""Reading json files with errors that name the file (datasets, evaluation, tools)."""
import json
import os.path as osp
from pathlib import Path
from typing import Any, Union


def read_json(path: Union[str, Path], kind: str = 'json file') -> Any:
    """Parsed content of ``path``; ``kind`` names the file in the missing-file error
    (e.g. 'panoptic annotation file'); invalid json is a ``ValueError`` naming the path."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{kind} not found: {path}')
    try:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f'{path} is not valid json: {error}') from error
