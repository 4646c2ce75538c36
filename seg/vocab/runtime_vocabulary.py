"""Vocabularies given at run time: a list of class names or a names file.

Names file formats:

* ``.txt``: one class per line (synonyms separated by ``,``); blank lines and lines starting
  with ``#`` are ignored. Classes are things unless a ``[stuff]`` line precedes them (a
  ``[things]`` line switches back).
* ``.json``: a list of names (all things) or ``{"thing_classes": [...], "stuff_classes": [...]}``.

The vocabulary name (which names the cached text-embedding file) defaults to ``custom_`` plus a
hash of the normalised names, so the same list reuses its cached embeddings and a different
list never picks up stale ones.
"""
import hashlib
import json
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

from seg.utils.json_files import read_json
from seg.utils.paths import resolve_data_path

from .dataset_vocabulary import Vocabulary
from .synonyms import class_synonyms

PathLike = Union[str, Path]


def read_class_names_file(path: PathLike) -> Tuple[List[str], List[str]]:
    """(thing names, stuff names) of a ``.txt`` or ``.json`` names file (``ext/...``: the
    package's class-names files, found from any directory, see ``resolve_data_path``)."""
    try:
        file = resolve_data_path(path)
    except FileNotFoundError as error:
        raise FileNotFoundError(f'class names file not found: {error}') from None
    if not file.is_file():
        raise FileNotFoundError(f'class names file not found: {file}')
    if file.suffix.lower() == '.json':
        content = read_json(file, 'class names file')
        if isinstance(content, list):
            return [str(n) for n in content], []
        if isinstance(content, dict) and set(content) <= {'thing_classes', 'stuff_classes'}:
            return list(content.get('thing_classes', [])), list(content.get('stuff_classes', []))
        raise ValueError(f'{file}: expected a list of names or an object with thing_classes / '
                         'stuff_classes')
    things, stuff = [], []
    current = things
    for line_number, raw in enumerate(file.read_text(encoding='utf-8').splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if line.lower() in ('[things]', '[stuff]'):
            current = things if line.lower() == '[things]' else stuff
            continue
        if line.startswith('['):
            raise ValueError(f'{file}:{line_number}: unknown section {line!r} (use [things] or '
                             '[stuff])')
        current.append(line)
    return things, stuff


def vocabulary_from_names(names: Union[Sequence[str], PathLike, None] = None,
                          stuff_classes: Sequence[str] = (),
                          name: Optional[str] = None) -> Vocabulary:
    """A :class:`Vocabulary` from a list of (thing) names and optional stuff names, or from a
    names file path. Raises ``ValueError`` for an empty list or names without synonyms."""
    if isinstance(names, (str, Path)):
        if stuff_classes:
            raise ValueError('give stuff classes inside the names file, not next to it')
        things, stuff = read_class_names_file(names)
    else:
        things, stuff = list(names or ()), list(stuff_classes)
    if not things and not stuff:
        raise ValueError('a vocabulary needs at least one class name')
    synonyms = class_synonyms(things + stuff)  # validates every entry
    if name is None:
        digest = hashlib.sha1(json.dumps([synonyms, len(things)]).encode()).hexdigest()[:12]
        name = f'custom_{digest}'
    return Vocabulary(tuple(things), tuple(stuff), name)
