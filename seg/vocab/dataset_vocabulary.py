"""The class list a model predicts: thing and stuff names plus the vocabulary's name."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple


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
        path = Path(ann_file)
        if not path.is_file():
            raise FileNotFoundError(f'panoptic annotation file not found: {path}')
        try:
            categories = json.loads(path.read_text())['categories']
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f'{path}: not a COCO-panoptic json with a "categories" list '
                             f'({error})') from error
        things, stuff = [], []
        for index, category in enumerate(categories):
            if 'name' not in category or 'isthing' not in category:
                raise ValueError(f'{path}: categories[{index}] lacks "name" or "isthing"')
            (things if category['isthing'] else stuff).append(category['name'])
        return cls(tuple(things), tuple(stuff), name or path.stem)

    @classmethod
    def build(cls, cfg: dict) -> 'Vocabulary':
        """From a config: ``dict(thing_classes=[...], stuff_classes=[...], name=...)`` or
        ``dict(ann_file=..., name=...)`` (a COCO-panoptic json)."""
        cfg = dict(cfg)
        name = cfg.pop('name', None)
        if 'ann_file' in cfg:
            ann_file = cfg.pop('ann_file')
            if cfg:
                raise KeyError(f'unknown vocabulary keys with ann_file: {sorted(cfg)}')
            return cls.from_panoptic_json(ann_file, name)
        unknown = set(cfg) - {'thing_classes', 'stuff_classes'}
        if unknown:
            raise KeyError(f'unknown vocabulary keys: {sorted(unknown)}; expected '
                           'thing_classes, stuff_classes, name (or ann_file, name)')
        if name is None:
            raise KeyError('a vocabulary given by class lists needs a "name"')
        things: Sequence[str] = tuple(cfg.get('thing_classes', ()))
        stuff: Sequence[str] = tuple(cfg.get('stuff_classes', ()))
        if not things and not stuff:
            raise ValueError(f'vocabulary "{name}" has no classes')
        return cls(tuple(things), tuple(stuff), name)
