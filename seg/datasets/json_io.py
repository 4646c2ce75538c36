"""Reading dataset annotation json files with errors that name the file."""
import json
import os.path as osp
from typing import Any


def read_json_file(path: str, kind: str) -> Any:
    """Parsed content of ``path``; ``kind`` names the file in the missing-file error
    (e.g. 'panoptic annotation file')."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{kind} not found: {path}')
    try:
        with open(path, encoding='utf-8') as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f'{path} is not valid json: {error}') from error
