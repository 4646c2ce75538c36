"""Several datasets trained as one.

Follows the reference's ``ConcatOVDataset`` (its ``seg/datasets/concat_dataset.py``).

:class:`JointDataset` concatenates source datasets, each repeated ``repeats[i]`` times (the
reference's ``RepeatDataset`` factors), and puts every label into one merged vocabulary
(``seg.vocab.merge``): a packed sample's ``gt_instances.labels`` and ``gt_sem_seg`` (of every
frame of a clip) are remapped with one vectorised lookup, interactive sources become
class-agnostic (labels ``CLASS_AGNOSTIC``), and the sample's metainfo gets ``data_tag`` and
``source``. Batches should come from one source at a time
(``seg.datasets.samplers.SingleSourceBatchSampler``): image, clip and prompt batches take
different paths through the model.
"""
import bisect
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from torch.utils.data import Dataset

from seg.registry import DATASETS
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.merge import MergedVocabulary, merge_vocabularies

# 'interactive' sources are class-agnostic (the reference's 'sam' tag); the others keep classes.
DATA_TAGS = ('panoptic', 'instance', 'video', 'interactive')
CLASS_AGNOSTIC_TAGS = ('interactive',)


def _frame_samples(data_sample) -> Iterator:
    """The per-frame ``SegDataSample``s of a clip sample, or the image sample itself."""
    if 'video_data_samples' in data_sample:
        yield from data_sample.video_data_samples
    else:
        yield data_sample


@DATASETS.register_module()
class JointDataset(Dataset):
    """Concatenated, repeated source datasets with one merged vocabulary.

    Args:
        datasets: source dataset configs (or built datasets), each with ``thing_classes`` /
            ``stuff_classes`` / ``dataset_name`` in its metainfo.
        data_tags: one of ``DATA_TAGS`` per source; ``'interactive'`` sources are
            class-agnostic and take no part in the merged vocabulary.
        repeats: positive repeat factor per source (default 1 each).
        vocabularies: optional per-source vocabulary config (``Vocabulary.build``) giving the
            names to merge by, e.g. a synonym list file for COCO; it must have the source's
            thing and stuff counts and order (labels are not changed by it). ``None`` entries
            use the source's own class names.
        synonym_policy, name: as :func:`seg.vocab.merge_vocabularies`.

    ``metainfo`` holds the merged ``classes`` / ``thing_classes`` / ``stuff_classes``, their
    counts, ``dataset_name`` (the merged name, which names the text-embedding file) and per
    source ``sources`` (names), ``data_tags``, ``repeats`` and ``label_maps``.
    """

    def __init__(self, datasets: Sequence[Union[dict, Dataset]], data_tags: Sequence[str],
                 repeats: Optional[Sequence[int]] = None,
                 vocabularies: Optional[Sequence[Optional[dict]]] = None,
                 synonym_policy: str = 'first', name: Optional[str] = None) -> None:
        if not datasets:
            raise ValueError('JointDataset needs at least one source dataset')
        count = len(datasets)
        repeats = [1] * count if repeats is None else list(repeats)
        vocabularies = [None] * count if vocabularies is None else list(vocabularies)
        for key, values in (('data_tags', data_tags), ('repeats', repeats),
                            ('vocabularies', vocabularies)):
            if len(values) != count:
                raise ValueError(f'JointDataset: {key} has {len(values)} entries for {count} '
                                 'datasets')
        for index, tag in enumerate(data_tags):
            if tag not in DATA_TAGS:
                raise ValueError(f'JointDataset: data_tags[{index}]={tag!r}; expected one of '
                                 f'{DATA_TAGS}')
        for index, repeat in enumerate(repeats):
            if not isinstance(repeat, int) or repeat < 1:
                raise ValueError(f'JointDataset: repeats[{index}]={repeat!r} must be an '
                                 'integer >= 1')
        self.datasets: List[Dataset] = [DATASETS.build(d) if isinstance(d, Mapping) else d
                                        for d in datasets]
        for index, dataset in enumerate(self.datasets):
            if len(dataset) == 0:
                raise ValueError(f'JointDataset: source {index} '
                                 f'({self._source_name(dataset)}) is empty')
        self.data_tags = tuple(data_tags)
        self.repeats = tuple(repeats)
        self.merged: MergedVocabulary = merge_vocabularies(
            [self._source_vocabulary(i, vocabularies[i]) for i in range(count)],
            synonym_policy, name)
        self._starts = [0]
        for dataset, repeat in zip(self.datasets, self.repeats):
            self._starts.append(self._starts[-1] + len(dataset) * repeat)
        vocabulary = self.merged.vocabulary
        self._metainfo = dict(
            classes=vocabulary.classes, thing_classes=vocabulary.thing_classes,
            stuff_classes=vocabulary.stuff_classes, num_things_classes=vocabulary.num_things,
            num_stuff_classes=vocabulary.num_stuff, dataset_name=vocabulary.name,
            sources=tuple(self._source_name(d) for d in self.datasets),
            data_tags=self.data_tags, repeats=self.repeats, label_maps=self.merged.label_maps)

    @staticmethod
    def _source_name(dataset: Dataset) -> str:
        meta = getattr(dataset, 'metainfo', None) or {}
        return meta.get('dataset_name', type(dataset).__name__)

    def _source_vocabulary(self, index: int, override: Optional[dict]) -> Optional[Vocabulary]:
        if self.data_tags[index] in CLASS_AGNOSTIC_TAGS:
            if override is not None:
                raise ValueError(f'JointDataset: source {index} is tagged '
                                 f'{self.data_tags[index]!r} (class-agnostic) but has a '
                                 'vocabulary')
            return None
        meta = getattr(self.datasets[index], 'metainfo', None) or {}
        where = f'JointDataset source {index} ({self._source_name(self.datasets[index])})'
        if 'thing_classes' not in meta or 'stuff_classes' not in meta:
            raise KeyError(f'{where}: metainfo has no thing_classes / stuff_classes; tag it '
                           "'interactive' if it is class-agnostic")
        own = Vocabulary(tuple(meta['thing_classes']), tuple(meta['stuff_classes']),
                         meta.get('dataset_name', f'source{index}'))
        if override is None:
            return own
        names = Vocabulary.build(override)
        if (names.num_things, names.num_stuff) != (own.num_things, own.num_stuff):
            raise ValueError(f'{where}: vocabulary {names.name!r} has {names.num_things} things '
                             f'/ {names.num_stuff} stuff, the dataset {own.num_things} / '
                             f'{own.num_stuff}')
        return names

    @property
    def metainfo(self) -> dict:
        return dict(self._metainfo)

    def __len__(self) -> int:
        return self._starts[-1]

    @property
    def source_ranges(self) -> Tuple[Tuple[int, int], ...]:
        """``(start, stop)`` of every source's (repeated) index range."""
        return tuple(zip(self._starts[:-1], self._starts[1:]))

    def locate(self, index: int) -> Tuple[int, int]:
        """(source, index inside that source) of a joint index."""
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f'JointDataset index {index} out of range ({len(self)} samples)')
        source = bisect.bisect_right(self._starts, index) - 1
        return source, (index - self._starts[source]) % len(self.datasets[source])

    def get_data_info(self, index: int) -> dict:
        source, local = self.locate(index)
        dataset = self.datasets[source]
        if not isinstance(dataset, BaseDataset):
            raise TypeError(f'source {source} ({type(dataset).__name__}) has no get_data_info')
        return dataset.get_data_info(local)

    def image_size(self, index: int) -> Optional[Tuple[int, int]]:
        """(height, width) of a sample (first frame of a video) from its annotation, or
        ``None`` when the annotation does not say (aspect-ratio grouping then puts it apart)."""
        info = self.get_data_info(index)
        for record in (info, *(info.get('frames') or ())[:1]):
            if record.get('height') and record.get('width'):
                return int(record['height']), int(record['width'])
        return None

    def __getitem__(self, index: int) -> dict:
        source, local = self.locate(index)
        result = self.datasets[source][local]
        if not isinstance(result, Mapping) or 'data_samples' not in result:
            raise TypeError(f'JointDataset source {source} ({self._metainfo["sources"][source]})'
                            ' must return packed samples (dict with data_samples): end its '
                            'pipeline with a Pack* transform')
        self.relabel(result['data_samples'], source)
        return result

    def relabel(self, data_sample, source: int) -> None:
        """Map the GT labels of a packed sample of ``source`` into the merged vocabulary and
        tag it (in place)."""
        for frame in _frame_samples(data_sample):
            if 'gt_instances' in frame and 'labels' in frame.gt_instances:
                frame.gt_instances.labels = self.merged.map_labels(source,
                                                                   frame.gt_instances.labels)
            if 'gt_sem_seg' in frame:
                frame.gt_sem_seg.sem_seg = self.merged.map_labels(source,
                                                                  frame.gt_sem_seg.sem_seg)
        data_sample.set_metainfo(dict(data_tag=self.data_tags[source],
                                      source=self._metainfo['sources'][source]))
