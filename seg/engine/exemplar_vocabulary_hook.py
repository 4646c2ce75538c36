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

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar

from seg.datasets.exemplar_sampling import draw_example_segments
from seg.models.exemplar_prototypes import example_masks_to_input, exemplar_embeddings
from seg.models.exemplar_vocabulary import set_mixed_vocabulary
from seg.registry import DATASETS, HOOKS
from seg.structures.panoptic_io import read_panoptic_png
from seg.vocab.exemplar_bank import ExemplarBank, check_prototype_kind


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


@torch.no_grad()
def install_exemplar_vocabulary(model, dataset, examples_per_class: int, seed: int = 0,
                                prototype: str = 'decoder', min_area: int = 64) -> ExemplarBank:
    """Embed K drawn examples per class of ``dataset`` and install them as ``model``'s
    vocabulary (class names and order from the model); returns the bank."""
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
    by_image = defaultdict(list)
    for picks in drawn.values():
        for pick in picks:
            by_image[pick.data_index].append(pick)

    was_training = model.training
    model.eval()
    bank = ExemplarBank()
    bar = ProgressBar(len(by_image))
    for data_index in sorted(by_image):
        picks = by_image[data_index]
        data = model.data_preprocessor(
            {key: [value] for key, value in dataset[data_index].items()}, False)
        panoptic_ids = torch.from_numpy(read_panoptic_png(infos[data_index]['seg_map_path']))
        masks = torch.stack([panoptic_ids == pick.segment_id for pick in picks])
        features = model.image_features(data['inputs'])
        coverage = example_masks_to_input(masks, data['data_samples'][0].metainfo)
        embeddings = exemplar_embeddings(model, features, coverage)
        for row, pick in enumerate(picks):
            bank.add(classes[pick.label], {kind: rows[row] for kind, rows in embeddings.items()},
                     thing=pick.label < vocabulary.num_things)
        bar.update()
    model.train(was_training)
    set_mixed_vocabulary(model, vocabulary, bank, prototype)
    counts = {exemplar.name: exemplar.num_examples for exemplar in bank}
    print_log(f'\nexemplar vocabulary ({prototype} prototypes, seed {seed}) replaces the text '
              f'embeddings of every class: examples per class {counts}', logger='current')
    return bank
