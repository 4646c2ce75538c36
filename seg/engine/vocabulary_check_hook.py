"""Install the model's configured vocabulary before a run, and stop a training run whose model
predicts another class list than its data is labelled in.

The model constructor reads no file: before the run starts this hook loads the configured
vocabulary and its text embeddings (``seg.models.load_configured_vocabulary``) when the model
has none yet. The model's vocabulary is then fixed (``model.vocabulary``); the training
labels follow the dataset (a :class:`seg.datasets.JointDataset` remaps them into its merged
vocabulary). If the two differ, training silently learns wrong classes, so the run stops before
the first step with the differences named.
"""
from itertools import zip_longest
from typing import List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from seg.models.vocabulary_loading import load_configured_vocabulary
from seg.registry import HOOKS


def vocabulary_differences(model_vocabulary, dataset_meta: dict, exact: bool) -> List[str]:
    """Human-readable differences between a model ``Vocabulary`` and dataset metainfo;
    ``exact`` compares the class strings, otherwise only the thing / stuff counts."""
    differences = []
    for group in ('thing_classes', 'stuff_classes'):
        model_names = tuple(getattr(model_vocabulary, group))
        data_names = tuple(dataset_meta.get(group, ()))
        if len(model_names) != len(data_names):
            differences.append(f'{len(model_names)} {group} in the model, {len(data_names)} in '
                               'the dataset')
        elif exact:
            for index, (ours, theirs) in enumerate(zip_longest(model_names, data_names)):
                if ours != theirs:
                    differences.append(f'{group}[{index}]: model {ours!r}, dataset {theirs!r}')
                    break
    return differences


@HOOKS.register_module()
class VocabularyCheckHook(Hook):
    """Before training, compare the model's vocabulary with the training dataset's classes.

    Class strings are compared exactly when the dataset merges vocabularies (it then defines
    the label space by those strings); otherwise the thing / stuff counts must agree (a single
    dataset's json names may legitimately differ from the synonym lists the model uses).
    """

    priority = 'VERY_HIGH'  # before any hook that runs the model

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'vocabulary', None) is None and hasattr(model, 'vocabulary_cfg'):
            load_configured_vocabulary(model)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        vocabulary = getattr(model, 'vocabulary', None)
        if vocabulary is None:
            return
        meta = runner.train_loop.dataloader.dataset.metainfo or {}
        exact = 'label_maps' in meta
        differences = vocabulary_differences(vocabulary, meta, exact)
        if differences:
            raise ValueError(
                f'model vocabulary {vocabulary.name!r} does not match the training dataset '
                f'{meta.get("dataset_name")!r}: ' + '; '.join(differences[:5])
                + ('. Build the model vocabulary with dict(merge=[...]) from the same source '
                   'vocabularies as the JointDataset.' if exact else ''))
