"""The class list a model predicts: thing and stuff names plus the vocabulary's name."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

from seg.utils.config_keys import check_known_keys
from seg.utils.json_files import read_json


@dataclass(frozen=True)
class Vocabulary:
    """Things first, then stuff; ``name`` identifies the text-embedding file."""
    thing_classes: Tuple[str, ...]
    stuff_classes: Tuple[str, ...]
    name: str

    @property
    def classes(self) -> Tuple[str, ...]:
        return self.thing_classes + self.stuff_classes

    @property
    def num_things(self) -> int:
        return len(self.thing_classes)

    @property
    def num_stuff(self) -> int:
        return len(self.stuff_classes)

    @classmethod
    def from_panoptic_json(cls, ann_file: str, name: Optional[str] = None) -> 'Vocabulary':
        """Read the ``categories`` of a COCO-panoptic json: things (``isthing=1``) in file
        order, then stuff. ``name`` defaults to the json's file stem."""
        things, stuff = [], []
        for category in _json_categories(ann_file, 'panoptic', ('name', 'isthing')):
            (things if category['isthing'] else stuff).append(category['name'])
        return cls(tuple(things), tuple(stuff), name or Path(ann_file).stem)

    @classmethod
    def from_instance_json(cls, ann_file: str, name: Optional[str] = None) -> 'Vocabulary':
        """The ``categories`` of a COCO-instance json (all things, in file order)."""
        names = [c['name'] for c in _json_categories(ann_file, 'instance', ('name',))]
        return cls(tuple(names), (), name or Path(ann_file).stem)

    @classmethod
    def build(cls, cfg: dict) -> 'Vocabulary':
        """From a config, one of:

        * ``dict(thing_classes=[...], stuff_classes=[...], name=...)``;
        * ``dict(ann_file=..., name=...)``: the categories of a COCO-panoptic json;
        * ``dict(instance_ann_file=..., name=...)``: those of a COCO-instance json (things);
        * ``dict(file=..., name=...)``: a class-names file (``.json`` / ``.txt``, see
          ``seg.vocab.runtime_vocabulary``); ``name`` defaults to the file stem;
        * ``dict(merge=[cfg or None, ...], name=..., synonym_policy='first')``: the merged
          vocabulary of several datasets (``seg.vocab.merge``; ``None`` = class-agnostic
          source), as the joint training datasets build it.
        """
        if isinstance(cfg, Vocabulary):
            return cfg
        cfg = dict(cfg)
        name = cfg.pop('name', None)
        for key, builder in (('ann_file', cls._from_ann_file),
                             ('instance_ann_file', cls._from_instance_ann_file),
                             ('file', cls._from_names_file), ('merge', cls._from_merge)):
            if key in cfg:
                return builder(cfg, name)
        # Listing the other builders' keys too tells a user with a typo what exists.
        check_known_keys(cfg, ('thing_classes', 'stuff_classes', 'name', 'ann_file',
                               'instance_ann_file', 'file', 'merge'), 'vocabulary')
        if name is None:
            raise KeyError('a vocabulary given by class lists needs a "name"')
        things: Sequence[str] = tuple(cfg.get('thing_classes', ()))
        stuff: Sequence[str] = tuple(cfg.get('stuff_classes', ()))
        if not things and not stuff:
            raise ValueError(f'vocabulary "{name}" has no classes')
        return cls(tuple(things), tuple(stuff), name)

    @staticmethod
    def _only(cfg: dict, key: str, allowed: Sequence[str] = ()) -> None:
        check_known_keys(cfg, (key, 'name', *allowed), f'{key} vocabulary')

    @classmethod
    def _from_ann_file(cls, cfg: dict, name: Optional[str]) -> 'Vocabulary':
        cls._only(cfg, 'ann_file')
        return cls.from_panoptic_json(cfg['ann_file'], name)

    @classmethod
    def _from_instance_ann_file(cls, cfg: dict, name: Optional[str]) -> 'Vocabulary':
        cls._only(cfg, 'instance_ann_file')
        return cls.from_instance_json(cfg['instance_ann_file'], name)

    @classmethod
    def _from_names_file(cls, cfg: dict, name: Optional[str]) -> 'Vocabulary':
        from .runtime_vocabulary import read_class_names_file  # imports this module
        cls._only(cfg, 'file')
        things, stuff = read_class_names_file(cfg['file'])
        if not things and not stuff:
            raise ValueError(f'class names file {cfg["file"]} lists no classes')
        return cls(tuple(things), tuple(stuff), name or Path(cfg['file']).stem)

    @classmethod
    def _from_merge(cls, cfg: dict, name: Optional[str]) -> 'Vocabulary':
        from .merge import merge_vocabularies  # imports this module
        cls._only(cfg, 'merge', ('synonym_policy',))
        sources = [None if source is None else cls.build(source) for source in cfg['merge']]
        return merge_vocabularies(sources, cfg.get('synonym_policy', 'first'), name).vocabulary


def _json_categories(ann_file: str, kind: str, keys: Sequence[str]) -> list:
    """The non-empty ``categories`` list of a COCO-format json, each entry with ``keys``."""
    path = Path(ann_file)
    content = read_json(path, f'{kind} annotation file')
    categories = content.get('categories') if isinstance(content, dict) else None
    if not isinstance(categories, list):
        raise ValueError(f'{path}: not a COCO-{kind} json with a "categories" list')
    if not categories:
        raise ValueError(f'{path}: "categories" is empty')
    for index, category in enumerate(categories):
        if not isinstance(category, dict) or any(key not in category for key in keys):
            raise ValueError(f'{path}: categories[{index}] lacks one of {list(keys)}')
    return categories
