"""Installing a vocabulary whose classes are named (text embeddings) or given by examples
(exemplar prototypes, ``seg.vocab.exemplar_bank``), in any mix.

Every task reads the class space from the head's classifier, so once installed, panoptic,
instance, semantic, video and the labels of prompt masks all use the exemplar prototypes.
"""
import torch

from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.exemplar_bank import ExemplarBank, check_prototype_kind
from seg.vocab.synonyms import split_synonyms


def _check_mix(vocabulary: Vocabulary, bank: ExemplarBank) -> None:
    """A class is either text or examples: a text entry must not name an exemplar class."""
    things = set(vocabulary.thing_classes)
    for entry in vocabulary.classes:
        if entry in bank:
            if bank[entry].thing != (entry in things):
                raise ValueError(
                    f'exemplar class {entry!r} was added as '
                    f'{"a thing" if bank[entry].thing else "stuff"} but the vocabulary lists it '
                    f'among the {"things" if entry in things else "stuff classes"}')
            continue
        both = [synonym for synonym in split_synonyms(entry) if synonym in bank]
        if both:
            raise ValueError(f'class {entry!r} is defined both by text and by examples '
                             f'({both[0]!r} is an exemplar class): give the exemplar class '
                             'alone, or remove its examples to use the text')


def set_mixed_vocabulary(model, vocabulary: Vocabulary, bank: ExemplarBank,
                         prototype: str = 'decoder') -> Vocabulary:
    """Install ``vocabulary`` in ``model``: its classes found in ``bank`` get their exemplar
    ``prototype``, the others text embeddings (the backbone's text tower, cached). Returns
    ``vocabulary``."""
    from .vocabulary_loading import load_runtime_vocabulary  # file I/O lives there
    check_prototype_kind(prototype)
    _check_mix(vocabulary, bank)
    if not any(name in bank for name in vocabulary.classes):
        return model.set_vocabulary(vocabulary)
    text_things = [c for c in vocabulary.thing_classes if c not in bank]
    text_stuff = [c for c in vocabulary.stuff_classes if c not in bank]
    text_rows = {}
    if text_things or text_stuff:
        _, text = load_runtime_vocabulary(model, text_things, text_stuff)
        text_rows = dict(zip(text_things + text_stuff, text))  # each (P, D)
    synonyms = max([rows.shape[0] for rows in text_rows.values()] + [1])
    rows = []
    for name in vocabulary.classes:
        if name in text_rows:
            row = text_rows[name]
            # Fewer synonyms repeat the first one (the text-embedding file's convention).
            row = torch.cat([row, row[:1].expand(synonyms - row.shape[0], -1)])
        else:
            row = bank[name].prototype(prototype)[None].expand(synonyms, -1)
        rows.append(row.float())
    embeddings = torch.stack(rows)
    model.set_class_embeddings(vocabulary, embeddings)
    return vocabulary
