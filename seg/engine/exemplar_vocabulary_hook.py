"""Evaluate with classes defined by examples instead of names.

Before testing (after the checkpoint is loaded: prototypes depend on the weights), every class
of the model's vocabulary is replaced by the prototype of K example segments drawn
deterministically from a panoptic dataset (usually the training split,
``seg.datasets.exemplar_sampling``). The text embeddings are not used for any class; the class
names only label the metrics, so the same evaluator reports the same metrics as the text
vocabulary. See ``configs/toy/omg_toy_exemplar_eval.py``.
"""
import copy
from collections import defaultdict
from typing import Dict, List

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar

from seg.datasets.exemplar_sampling import ExampleSegment, draw_example_segments
from seg.models.exemplar_prototypes import example_masks_to_input, exemplar_embeddings
from seg.models.exemplar_vocabulary import set_mixed_vocabulary
from seg.registry import DATASETS, HOOKS
from seg.structures.panoptic_io import read_panoptic_png
from seg.vocab.exemplar_bank import EMBEDDING_KINDS, ExemplarBank, check_prototype_kind


@HOOKS.register_module()
class ExemplarVocabularyHook(Hook):
    """Install an exemplar-only vocabulary before the test loop.

    Args:
        dataset: a panoptic dataset config whose pipeline loads and resizes the image as the
            test pipeline does (annotations are read from its PNGs here); its classes must be
            the model's, in the same order.
        examples_per_class: K examples per class.
        seed: the draw's seed (the same seed and K give the same examples).
        prototype: ``'decoder'``, ``'clip'`` or ``'mix'`` (``seg.models.exemplar_prototypes``).
        min_area: smallest example segment, in pixels of the original image.
    """

    priority = 'LOW'  # after the vocabulary hook and checkpoint loading

    def __init__(self, dataset: dict, examples_per_class: int = 5, seed: int = 0,
                 prototype: str = 'decoder', min_area: int = 64) -> None:
        self.dataset_cfg = copy.deepcopy(dataset)
        self.examples_per_class = int(examples_per_class)
        self.seed = int(seed)
        self.prototype = check_prototype_kind(prototype)
        self.min_area = int(min_area)

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        install_exemplar_vocabulary(model, DATASETS.build(self.dataset_cfg),
                                    self.examples_per_class, self.seed, self.prototype,
                                    self.min_area)


def draw_dataset_examples(model, dataset, examples_per_class: int, seed: int = 0,
                          min_area: int = 64) -> Dict[int, List[ExampleSegment]]:
    """The K example segments per class label of ``dataset`` (whose classes must be the
    model's, in order); a class without any is an error, one with fewer is logged."""
    vocabulary = model.vocabulary
    classes = tuple(dataset.metainfo['classes'])
    if classes != tuple(vocabulary.classes) or \
            dataset.metainfo.get('num_things_classes') != vocabulary.num_things:
        raise ValueError(f'exemplar dataset classes {classes} differ from the model '
                         f'vocabulary {vocabulary.name!r} {tuple(vocabulary.classes)}')
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    drawn = draw_example_segments(infos, len(classes), examples_per_class, seed, min_area)
    short = {classes[label]: len(picks) for label, picks in drawn.items()
             if len(picks) < examples_per_class}
    if any(count == 0 for count in short.values()):
        raise ValueError(f'no example of at least {min_area} pixels for classes '
                         f'{[name for name, count in short.items() if count == 0]} in '
                         f'{dataset.ann_file}')
    if short:
        print_log(f'exemplar vocabulary: fewer than {examples_per_class} examples for '
                  f'{short}', logger='current', level=30)
    return drawn


@torch.no_grad()
def embed_dataset_examples(model, dataset, drawn: Dict[int, List[ExampleSegment]]
                           ) -> Dict[int, Dict[str, torch.Tensor]]:
    """``decoder`` / ``clip`` embeddings (E, D) of the drawn examples of every class label, in
    draw order (so the first k rows are the examples of a draw of k); each image once."""
    by_image = defaultdict(list)
    for picks in drawn.values():
        for position, pick in enumerate(picks):
            by_image[pick.data_index].append((position, pick))
    rows = {label: [None] * len(picks) for label, picks in drawn.items()}
    was_training = model.training
    model.eval()
    bar = ProgressBar(len(by_image))
    for data_index in sorted(by_image):
        picks = by_image[data_index]
        data = model.data_preprocessor(
            {key: [value] for key, value in dataset[data_index].items()}, False)
        seg_map = dataset.get_data_info(data_index)['seg_map_path']
        panoptic_ids = torch.from_numpy(read_panoptic_png(seg_map))
        masks = torch.stack([panoptic_ids == pick.segment_id for _, pick in picks])
        features = model.image_features(data['inputs'])
        coverage = example_masks_to_input(masks, data['data_samples'][0].metainfo)
        embeddings = exemplar_embeddings(model, features, coverage)
        for row, (position, pick) in enumerate(picks):
            rows[pick.label][position] = {kind: value[row] for kind, value in embeddings.items()}
        bar.update()
    model.train(was_training)
    return {label: {kind: torch.stack([example[kind] for example in examples])
                    for kind in EMBEDDING_KINDS}
            for label, examples in rows.items()}


def install_example_embeddings(model, embeddings: Dict[int, Dict[str, torch.Tensor]],
                               examples_per_class: int, prototype: str) -> ExemplarBank:
    """Install the prototypes of the first ``examples_per_class`` embedded examples of every
    class as the model's whole vocabulary (no text embedding is kept)."""
    vocabulary = model.vocabulary
    bank = ExemplarBank()
    for label, rows in sorted(embeddings.items()):
        bank.add(vocabulary.classes[label],
                 {kind: value[:examples_per_class] for kind, value in rows.items()},
                 thing=label < vocabulary.num_things)
    set_mixed_vocabulary(model, vocabulary, bank, prototype)
    counts = {exemplar.name: exemplar.num_examples for exemplar in bank}
    print_log(f'\nexemplar vocabulary ({prototype} prototypes) replaces the text embeddings '
              f'of every class: examples per class {counts}', logger='current')
    return bank


def install_exemplar_vocabulary(model, dataset, examples_per_class: int, seed: int = 0,
                                prototype: str = 'decoder', min_area: int = 64) -> ExemplarBank:
    """Embed K drawn examples per class of ``dataset`` and install them as ``model``'s
    vocabulary (class names and order from the model); returns the bank."""
    check_prototype_kind(prototype)
    drawn = draw_dataset_examples(model, dataset, examples_per_class, seed, min_area)
    embeddings = embed_dataset_examples(model, dataset, drawn)
    return install_example_embeddings(model, embeddings, examples_per_class, prototype)
