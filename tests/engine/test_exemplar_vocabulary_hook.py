"""The exemplar-vocabulary evaluation: K examples per class drawn deterministically from a
training split replace every text embedding."""
import copy

import pytest
import torch

from seg.datasets.exemplar_sampling import draw_example_segments
from seg.engine.exemplar_vocabulary_hook import (draw_dataset_examples, embed_dataset_examples,
                                                 install_example_embeddings,
                                                 install_exemplar_vocabulary)
from seg.models import build_segmentor
from seg.registry import DATASETS


@pytest.fixture
def exemplar_dataset(toy_data_root):
    return DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=f'{toy_data_root}/',
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        test_mode=True, filter_cfg=None,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='Resize', scale=(64, 64), keep_ratio=True),
                  dict(type='PackSegInputs')]))


def test_draws_are_deterministic_nested_and_per_class(exemplar_dataset):
    infos = [exemplar_dataset.get_data_info(i) for i in range(len(exemplar_dataset))]
    classes = len(exemplar_dataset.metainfo['classes'])
    five = draw_example_segments(infos, classes, 5, seed=0, min_area=64)
    assert five == draw_example_segments(infos, classes, 5, seed=0, min_area=64)
    one = draw_example_segments(infos, classes, 1, seed=0, min_area=64)
    assert all(one[label] == five[label][:1] for label in five)
    assert draw_example_segments(infos, classes, 5, seed=1, min_area=64) != five
    for label, picks in five.items():
        assert 1 <= len(picks) <= 5 and len(set(picks)) == len(picks)
        for pick in picks:
            segment = next(s for s in infos[pick.data_index]['segments_info']
                           if s['id'] == pick.segment_id)
            assert segment['label'] == label and segment['area'] >= 64
    with pytest.raises(ValueError, match='examples_per_class must be >= 1, got 0'):
        draw_example_segments(infos, classes, 0)


def test_every_class_gets_the_prototype_of_its_examples(tiny_cfg, exemplar_dataset):
    torch.manual_seed(0)
    model = build_segmentor(copy.deepcopy(tiny_cfg)).eval()
    text = model.panoptic_head.text_classifier.cls_embed.clone()
    bank = install_exemplar_vocabulary(model, exemplar_dataset, examples_per_class=2,
                                       prototype='clip')
    installed = model.panoptic_head.text_classifier.cls_embed  # (D, K + 1, P)
    classes = model.vocabulary.classes
    assert bank.names and set(bank.names) == set(classes)
    for row, name in enumerate(classes):
        assert bank[name].num_examples <= 2
        assert bank[name].thing == (row < model.vocabulary.num_things)
        assert torch.allclose(installed[:, row, 0], bank[name].prototype('clip'), atol=1e-6)
    assert not torch.allclose(installed[:, :-1], text[:, :-1])
    # The same draw and weights give the same vocabulary.
    again = copy.deepcopy(model)
    install_exemplar_vocabulary(again, exemplar_dataset, examples_per_class=2, prototype='clip')
    assert torch.equal(again.panoptic_head.text_classifier.cls_embed, installed)
    # A smaller K is the prefix of a larger draw's embeddings (what tools/exemplar_sweep.py
    # relies on to embed once).
    embedded = embed_dataset_examples(again, exemplar_dataset,
                                      draw_dataset_examples(again, exemplar_dataset, 3))
    install_example_embeddings(again, embedded, 2, 'clip')
    assert torch.allclose(again.panoptic_head.text_classifier.cls_embed, installed, atol=1e-6)


def test_the_exemplar_dataset_must_have_the_model_classes(tiny_cfg, exemplar_dataset):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['vocabulary'] = dict(thing_classes=['cat'], stuff_classes=['sky'], name='other')
    model = build_segmentor(cfg)
    with pytest.raises(ValueError, match=r"differ from the model vocabulary 'other' \('cat', "):
        install_exemplar_vocabulary(model, exemplar_dataset, examples_per_class=1)
