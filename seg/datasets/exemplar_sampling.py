"""Drawing K example segments per class from a panoptic dataset, deterministically (the
exemplar-vocabulary evaluation defines each class by examples from a training split)."""
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np


@dataclass(frozen=True)
class ExampleSegment:
    """One example: segment ``segment_id`` of data info ``data_index``."""
    data_index: int
    segment_id: int
    label: int


def draw_example_segments(data_infos: Sequence[dict], num_classes: int,
                          examples_per_class: int, seed: int = 0, min_area: int = 0
                          ) -> Dict[int, List[ExampleSegment]]:
    """Up to ``examples_per_class`` non-crowd segments of at least ``min_area`` pixels per
    class label (``segments_info`` of panoptic data infos).

    Each class draws from its own generator seeded by ``(seed, label)``, so the draw of one
    class does not depend on the others and the K examples of a class are the first K of a
    fixed order: a smaller K gives a subset of a larger one. A class with fewer candidates
    gets all of them (the caller reports it).
    """
    if examples_per_class < 1:
        raise ValueError(f'examples_per_class must be >= 1, got {examples_per_class}')
    candidates: Dict[int, List[ExampleSegment]] = {label: [] for label in range(num_classes)}
    for index, info in enumerate(data_infos):
        for segment in info['segments_info']:
            if segment.get('iscrowd', 0) or segment.get('area', min_area) < min_area:
                continue
            label = int(segment['label'])
            candidates[label].append(ExampleSegment(index, int(segment['id']), label))
    drawn = {}
    for label, pool in candidates.items():
        order = np.random.default_rng([seed, label]).permutation(len(pool))
        drawn[label] = [pool[i] for i in order[:examples_per_class]]
    return drawn
