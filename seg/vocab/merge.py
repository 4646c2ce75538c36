"""One vocabulary across datasets and seen/unseen class flags for open-vocabulary fusion.

The reference does the merge in ``ConcatOVDataset`` (``seg/datasets/concat_dataset.py``) and the
flags in ``tools/test.py`` with ``calculate_class_overlapping``
(``seg/models/utils/class_overlapping.py``).

Merging: class names are normalised (:func:`split_synonyms`: ``_or_`` and ``/`` separate
synonyms, ``_`` is a space, lower case, stripped). Things and stuff are merged separately, in
dataset order: a class joins the first merged entry sharing at least one synonym, otherwise it
is appended. The reference keeps only the first dataset's synonyms in a merged entry
(``synonym_policy='first'``); ``'union'`` also adds the later datasets' synonyms. Each dataset
gets a label map (its contiguous label -> merged label; things first, then stuff). A
class-agnostic dataset (e.g. interactive data) maps every label to ``CLASS_AGNOSTIC`` (-1).

Seen/unseen: a test class is *seen* when any of its synonyms is a synonym of any training class.
Unlike the reference (whose ``calculate_class_overlapping`` does not strip names and only sees the
synonyms the merged entries kept), names are stripped and every synonym of every training class
counts, including synonyms that merging folded into another dataset's entry.
"""
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from seg.utils.constants import VOID_LABEL
from .dataset_vocabulary import Vocabulary
from .synonyms import normalize_class_name, split_synonyms

CLASS_AGNOSTIC = -1
SYNONYM_POLICIES = ('first', 'union')


@dataclass(frozen=True)
class MergedVocabulary:
    """Merged classes plus one label map per source dataset.

    ``label_maps[i][label]`` is the merged label of dataset i's contiguous ``label`` (an empty
    map marks a class-agnostic dataset).
    """
    vocabulary: Vocabulary
    label_maps: Tuple[Tuple[int, ...], ...]
    dataset_names: Tuple[str, ...]

    def map_labels(self, dataset_index: int, labels: Union[np.ndarray, torch.Tensor]
                   ) -> Union[np.ndarray, torch.Tensor]:
        """Dataset-local labels (any shape) -> merged labels; ``VOID_LABEL`` stays void."""
        if not 0 <= dataset_index < len(self.label_maps):
            raise IndexError(f'dataset index {dataset_index} out of range '
                             f'({len(self.label_maps)} datasets)')
        return apply_label_map(labels, self.label_maps[dataset_index],
                               where=self.dataset_names[dataset_index])


def apply_label_map(labels: Union[np.ndarray, torch.Tensor], label_map: Sequence[int],
                    where: str = 'dataset') -> Union[np.ndarray, torch.Tensor]:
    """Vectorised label remapping. An empty ``label_map`` (class-agnostic dataset) maps every
    label to ``CLASS_AGNOSTIC``; ``VOID_LABEL`` is kept; an unknown label raises ``ValueError``."""
    is_tensor = isinstance(labels, torch.Tensor)
    array = labels.cpu().numpy() if is_tensor else np.asarray(labels)
    void = array == VOID_LABEL
    if len(label_map) == 0:
        mapped = np.full(array.shape, CLASS_AGNOSTIC, dtype=np.int64)
    else:
        lookup = np.asarray(label_map, dtype=np.int64)
        valid = void | ((array >= 0) & (array < len(lookup)))
        if not valid.all():
            bad = np.unique(array[~valid])[:10].tolist()
            raise ValueError(f'{where}: labels {bad} have no entry in its label map '
                             f'({len(lookup)} classes)')
        mapped = lookup[np.where(void, 0, array)]
    mapped = np.where(void, VOID_LABEL, mapped).astype(np.int64)
    return torch.from_numpy(mapped).to(labels.device) if is_tensor else mapped


def _merge_group(merged: List[List[str]], names: Sequence[str], policy: str) -> List[int]:
    """Merge ``names`` into ``merged`` (synonym lists, modified in place); merged indices."""
    indices = []
    for name in names:
        synonyms = split_synonyms(name)
        target = next((index for index, entry in enumerate(merged)
                       if set(entry) & set(synonyms)), None)
        if target is None:
            merged.append(list(synonyms))
            target = len(merged) - 1
        elif policy == 'union':
            merged[target].extend(s for s in synonyms if s not in merged[target])
        indices.append(target)
    return indices


def merge_vocabularies(vocabularies: Sequence[Optional[Vocabulary]],
                       synonym_policy: str = 'first',
                       name: Optional[str] = None) -> MergedVocabulary:
    """Merge dataset vocabularies in order; ``None`` entries are class-agnostic datasets.

    The merged name is ``Concat_<name1>_<name2>...`` for more than one labelled dataset (the
    reference's naming), else the single labelled dataset's name; ``name`` overrides it.
    """
    if synonym_policy not in SYNONYM_POLICIES:
        raise ValueError(f'synonym_policy must be one of {SYNONYM_POLICIES}, got '
                         f'{synonym_policy!r}')
    labelled = [v for v in vocabularies if v is not None]
    if not labelled:
        raise ValueError('merge_vocabularies needs at least one labelled vocabulary')
    things: List[List[str]] = []
    stuff: List[List[str]] = []
    local_maps = []
    for vocabulary in vocabularies:
        if vocabulary is None:
            local_maps.append(None)
            continue
        local_maps.append((_merge_group(things, vocabulary.thing_classes, synonym_policy),
                           _merge_group(stuff, vocabulary.stuff_classes, synonym_policy)))
    label_maps = []
    for entry in local_maps:
        if entry is None:
            label_maps.append(())
        else:
            thing_map, stuff_map = entry
            label_maps.append(tuple(thing_map) + tuple(len(things) + i for i in stuff_map))
    names = [v.name for v in labelled]
    merged_name = name or (f'Concat_{"_".join(names)}' if len(names) > 1 else names[0])
    merged = Vocabulary(tuple(','.join(s) for s in things), tuple(','.join(s) for s in stuff),
                        merged_name)
    dataset_names = tuple(v.name if v is not None else 'class_agnostic' for v in vocabularies)
    return MergedVocabulary(merged, tuple(label_maps), dataset_names)


def seen_class_flags(train_class_names: Iterable[str],
                     test_class_names: Sequence[str]) -> List[bool]:
    """For every test class: does any of its synonyms name a training class?

    ``train_class_names`` should be the *original* class names of every training dataset (not
    only the merged strings), so that no synonym is lost.
    """
    train_synonyms = {synonym for name in train_class_names for synonym in split_synonyms(name)}
    if not train_synonyms:
        raise ValueError('seen_class_flags needs at least one training class name')
    return [any(s in train_synonyms for s in split_synonyms(name)) for name in test_class_names]


def describe_seen_flags(class_names: Sequence[str], flags: Sequence[bool]) -> str:
    """One line for the log: counts and the unseen names."""
    unseen = [normalize_class_name(n) for n, seen in zip(class_names, flags) if not seen]
    return (f'{len(flags) - len(unseen)} seen / {len(unseen)} unseen classes; unseen: '
            f'{unseen}')
