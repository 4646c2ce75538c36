"""Classes defined by example masks instead of names: the per-example embeddings of each
exemplar class, their prototypes and the file they are saved in.

An exemplar class keeps one embedding per example and per prototype kind (``decoder``: the
decoder's class embedding of the example mask; ``clip``: the frozen CLIP feature pooled in the
mask, see ``seg.models.exemplar_prototypes``). Its prototype is the normalised mean over the
examples; ``mix`` adds the normalised ``decoder`` and ``clip`` prototypes. Embeddings are
computed once, when an example is added, so changing the vocabulary or the prototype kind
never runs the network again.

Prototypes belong to the weights that computed them: a saved file records the model name and
embedding size and refuses to load into another.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, Mapping, Optional, Union

import torch
import torch.nn.functional as F

PROTOTYPE_KINDS = ('decoder', 'clip', 'mix')
EMBEDDING_KINDS = ('decoder', 'clip')  # what is stored; 'mix' is derived from both
EXEMPLAR_FILE_FORMAT = 'omgseg-exemplar-vocabulary/1'


def check_prototype_kind(kind: str) -> str:
    if kind not in PROTOTYPE_KINDS:
        raise ValueError(f'unknown exemplar prototype {kind!r}; choose from {PROTOTYPE_KINDS}')
    return kind


@dataclass
class ExemplarClass:
    """One class given by examples: ``embeddings[kind]`` is (E, D), one unit row per example."""
    name: str
    thing: bool
    embeddings: Dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def num_examples(self) -> int:
        return int(self.embeddings[EMBEDDING_KINDS[0]].shape[0])

    def prototype(self, kind: str) -> torch.Tensor:
        """(D,) unit prototype: the normalised mean of the examples' embeddings of ``kind``."""
        check_prototype_kind(kind)
        if kind == 'mix':
            return F.normalize(self.prototype('decoder') + self.prototype('clip'), dim=-1)
        return F.normalize(self.embeddings[kind].mean(dim=0), dim=-1)


class ExemplarBank:
    """Exemplar classes by name; :meth:`add` appends examples (several per name are averaged)."""

    def __init__(self) -> None:
        self._classes: Dict[str, ExemplarClass] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._classes

    def __getitem__(self, name: str) -> ExemplarClass:
        if name not in self._classes:
            raise KeyError(f'no exemplar class {name!r}; exemplar classes: {self.names}')
        return self._classes[name]

    def __iter__(self) -> Iterator[ExemplarClass]:
        return iter(self._classes.values())

    def __len__(self) -> int:
        return len(self._classes)

    @property
    def names(self):
        return list(self._classes)

    def add(self, name: str, embeddings: Mapping[str, torch.Tensor], thing: bool = True
            ) -> ExemplarClass:
        """Add examples to class ``name``: ``embeddings[kind]`` is (E, D) or (D,) for one."""
        if not isinstance(name, str) or not name.strip() or ',' in name:
            raise ValueError(f'an exemplar class needs one non-empty name without commas '
                             f'(commas separate text synonyms), got {name!r}')
        rows = {}
        for kind in EMBEDDING_KINDS:
            if kind not in embeddings:
                raise KeyError(f'exemplar embeddings of {name!r} lack {kind!r}')
            value = embeddings[kind].detach().float().cpu()
            rows[kind] = F.normalize(value.reshape(-1, value.shape[-1]), dim=-1)
        existing = self._classes.get(name)
        if existing is None:
            self._classes[name] = ExemplarClass(name, bool(thing), rows)
            return self._classes[name]
        if existing.thing != bool(thing):
            raise ValueError(f'exemplar class {name!r} was added as '
                             f'{"a thing" if existing.thing else "stuff"}; got thing={thing}')
        for kind in EMBEDDING_KINDS:
            if rows[kind].shape[-1] != existing.embeddings[kind].shape[-1]:
                raise ValueError(f'exemplar class {name!r}: {kind} embeddings of size '
                                 f'{rows[kind].shape[-1]}, earlier examples '
                                 f'{existing.embeddings[kind].shape[-1]}')
            existing.embeddings[kind] = torch.cat([existing.embeddings[kind], rows[kind]])
        return existing

    def remove(self, name: str) -> None:
        self[name]  # noqa: B018  (raises the named KeyError)
        del self._classes[name]

    # ------------------------------------------------------------------ files
    def to_state(self) -> Dict[str, dict]:
        return {c.name: dict(thing=c.thing, **{k: c.embeddings[k].clone() for k in
                                                 EMBEDDING_KINDS}) for c in self}

    @classmethod
    def from_state(cls, state: Mapping[str, Mapping], source: str = 'exemplar state'
                   ) -> 'ExemplarBank':
        bank = cls()
        for name, entry in state.items():
            if not isinstance(entry, Mapping) or any(k not in entry for k in EMBEDDING_KINDS):
                raise ValueError(f'{source}: exemplar class {name!r} lacks {EMBEDDING_KINDS}')
            bank.add(name, {k: entry[k] for k in EMBEDDING_KINDS}, bool(entry.get('thing', True)))
        return bank


def save_exemplar_vocabulary(path: Union[str, Path], thing_classes, stuff_classes,
                             bank: ExemplarBank, prototype: str, model_name: str,
                             embed_dim: int) -> Path:
    """Write a vocabulary (class names, things first) with the exemplar classes it uses.
    Text classes are stored by name only: their embeddings come from the text-embedding cache."""
    classes = list(thing_classes) + list(stuff_classes)
    used = ExemplarBank()
    for name in classes:
        if name in bank:
            used.add(name, bank[name].embeddings, bank[name].thing)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(format=EXEMPLAR_FILE_FORMAT, thing_classes=list(thing_classes),
                    stuff_classes=list(stuff_classes), prototype=check_prototype_kind(prototype),
                    model_name=model_name, embed_dim=int(embed_dim), exemplars=used.to_state()),
               path)
    return path


def load_exemplar_vocabulary(path: Union[str, Path], model_name: Optional[str] = None,
                             embed_dim: Optional[int] = None) -> dict:
    """Read a file of :func:`save_exemplar_vocabulary` (``weights_only``: nothing in it runs);
    returns ``thing_classes``, ``stuff_classes``, ``prototype`` and ``bank``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'exemplar vocabulary file not found: {path}')
    content = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(content, dict) or content.get('format') != EXEMPLAR_FILE_FORMAT:
        raise ValueError(f'{path} is not an exemplar vocabulary file ({EXEMPLAR_FILE_FORMAT})')
    for key, expected in (('model_name', model_name), ('embed_dim', embed_dim)):
        if expected is not None and content[key] != expected:
            raise ValueError(f'{path}: exemplar prototypes were computed by a model with '
                             f'{key}={content[key]!r}, this model has {expected!r}')
    return dict(thing_classes=list(content['thing_classes']),
                stuff_classes=list(content['stuff_classes']),
                prototype=check_prototype_kind(content['prototype']),
                bank=ExemplarBank.from_state(content['exemplars'], str(path)))
