"""Merged vocabulary with synonyms, per-dataset label maps and seen/unseen flags."""
import numpy as np
import pytest
import torch

from seg.utils.constants import VOID_LABEL
from seg.vocab import (CLASS_AGNOSTIC, Vocabulary, apply_label_map, merge_vocabularies,
                       seen_class_flags)

DATASET_A = Vocabulary(('person,child', 'car'), ('sky',), 'A')
DATASET_B = Vocabulary(('Person,man', 'truck'), ('Sky/heaven', 'road'), 'B')


def test_merge_keeps_first_synonyms_and_maps_every_dataset():
    merged = merge_vocabularies([DATASET_A, DATASET_B, None])
    assert merged.vocabulary.thing_classes == ('person,child', 'car', 'truck')
    assert merged.vocabulary.stuff_classes == ('sky', 'road')
    assert merged.vocabulary.name == 'Concat_A_B'
    # Things first, then stuff, in the merged numbering.
    assert merged.label_maps == ((0, 1, 3), (0, 2, 3, 4), ())
    labels = torch.tensor([[0, 1], [3, VOID_LABEL]])
    assert merged.map_labels(1, labels).tolist() == [[0, 2], [4, VOID_LABEL]]
    assert merged.map_labels(2, labels).tolist() == [[CLASS_AGNOSTIC] * 2,
                                                     [CLASS_AGNOSTIC, VOID_LABEL]]


def test_union_policy_collects_every_synonym():
    merged = merge_vocabularies([DATASET_A, DATASET_B], synonym_policy='union', name='joint')
    assert merged.vocabulary.thing_classes[0] == 'person,child,man'
    assert merged.vocabulary.stuff_classes[0] == 'sky,heaven'
    assert merged.vocabulary.name == 'joint'


def test_single_labelled_dataset_keeps_its_name_and_bad_inputs_raise():
    assert merge_vocabularies([None, DATASET_A]).vocabulary.name == 'A'
    with pytest.raises(ValueError, match='at least one labelled'):
        merge_vocabularies([None])
    with pytest.raises(ValueError, match='synonym_policy'):
        merge_vocabularies([DATASET_A], synonym_policy='last')
    with pytest.raises(ValueError, match=r'labels \[7\]'):
        apply_label_map(np.array([0, 7]), (0, 1), where='A')


def test_seen_flags_strip_names_and_compare_every_synonym():
    train = ['person,child', 'bird,birds', 'tree,trees,bushes', 'car', 'Traffic_light']
    test = ['animal, animal being, bird', 'plant, flora, bushes', 'wall', 'traffic light',
            'pot, flowerpot']
    assert seen_class_flags(train, test) == [True, True, False, True, False]
    # A synonym folded into another dataset's merged entry still counts as seen when the
    # original training names are given.
    merged = merge_vocabularies([Vocabulary(('bird',), (), 'A'),
                                 Vocabulary(('animal,bird',), (), 'B')])
    assert merged.vocabulary.thing_classes == ('bird',)
    originals = DATASET_A.classes + ('bird', 'animal,bird')
    assert seen_class_flags(originals, ['animal']) == [True]
    with pytest.raises(ValueError, match='at least one training class'):
        seen_class_flags([], ['a'])
