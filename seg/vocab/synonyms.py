"""Class-name normalisation and synonym parsing.

Follows the reference's ``ConcatOVDataset`` (``seg/datasets/concat_dataset.py``) and
``split_label`` (``tools/gen_cls.py``). A class entry such as ``'person,child,girl'`` or
``'Traffic_light'`` or ``'tv_or_monitor'`` names one class by several synonyms. Normalisation:
``'_or_'`` and ``'/'`` separate synonyms, ``'_'`` becomes a space, lower case, synonyms are split
on ``','`` and stripped (the reference's ``ConcatOVDataset`` and ``calculate_class_overlapping``,
``seg/models/utils/class_overlapping.py``, do not strip, so ``', '``-joined names keep a leading
space and never match), empty and repeated synonyms are dropped.
"""
from typing import List, Sequence


def split_synonyms(class_name: str) -> List[str]:
    """Synonyms of one class entry, normalised, in order, without duplicates.

    Raises:
        ValueError: ``class_name`` is not a string or holds no synonym.
    """
    if not isinstance(class_name, str):
        raise ValueError(f'class name must be a string, got {class_name!r}')
    text = class_name.replace('_or_', ',').replace('/', ',').replace('_', ' ').lower()
    synonyms: List[str] = []
    for part in text.split(','):
        synonym = ' '.join(part.split())
        if synonym and synonym not in synonyms:
            synonyms.append(synonym)
    if not synonyms:
        raise ValueError(f'class name {class_name!r} holds no synonym')
    return synonyms


def normalize_class_name(class_name: str) -> str:
    """Canonical string of a class entry: its normalised synonyms joined by ``','``."""
    return ','.join(split_synonyms(class_name))


def class_synonyms(class_names: Sequence[str]) -> List[List[str]]:
    """Synonym lists of every class, in class order.

    Raises:
        ValueError: no classes, or an entry that holds no synonym.
    """
    if isinstance(class_names, str) or len(class_names) == 0:
        raise ValueError('class_names must be a non-empty list of class-name strings')
    return [split_synonyms(name) for name in class_names]
