"""Exemplar prompts through the Python API on a tiny random model: a class given only by an
example mask is segmented, prototypes are cached and saved, bad examples raise clear errors."""
import copy
from unittest import mock

import numpy as np
import pytest
import torch

from seg.apis import Predictor
from .conftest import HEIGHT, WIDTH

def _mask_iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_a_class_missing_from_the_text_vocabulary_is_segmented_from_an_example(predictor,
                                                                              image):
    text_classes = list(predictor.class_names[:predictor.num_things])
    stuff = list(predictor.class_names[predictor.num_things:])
    before = predictor.predict(image, task='instance').instances
    example = before.masks[int(np.argmax(before.scores))]
    assert example.any()

    predictor.add_exemplar('novel gadget', image, example)
    predictor.set_vocabulary(text_classes + ['novel gadget'], stuff_classes=stuff)
    assert predictor.class_names[len(text_classes)] == 'novel gadget'
    after = predictor.predict(image, task='all')
    novel = after.instances.labels == len(text_classes)
    assert novel.any(), 'no instance was given the exemplar class'
    best = max(_mask_iou(mask, example) for mask in after.instances.masks[novel])
    assert best > 0.8
    # The semantic map labels the example's pixels with the exemplar class too.
    assert (after.semantic[example] == len(text_classes)).mean() > 0.5


def test_examples_are_averaged_and_embedded_once(predictor, image):
    first, second = np.zeros((2, HEIGHT, WIDTH), dtype=bool)
    first[10:40, 20:60] = True
    second[45:, :30] = True
    predictor.set_image(image)
    predictor.add_exemplar('thing a', mask=first)             # a region of the current image
    predictor.add_exemplar('thing a', image[:, ::-1], second[:, ::-1])  # another image
    assert predictor.exemplars['thing a'].num_examples == 2
    # The other image did not replace the current one.
    assert predictor._image['size'] == (HEIGHT, WIDTH)
    expected = torch.nn.functional.normalize(
        predictor.exemplars['thing a'].embeddings['decoder'].mean(0), dim=-1)
    with mock.patch.object(predictor.model, 'image_features',
                           side_effect=AssertionError('recomputed')), \
            mock.patch.object(predictor.model.panoptic_head, 'forward',
                              side_effect=AssertionError('recomputed')):
        predictor.set_vocabulary(['thing a', 'cat'])
    installed = predictor.model.panoptic_head.text_classifier.cls_embed[:, 0, 0]
    assert torch.allclose(installed, expected, atol=1e-6)
    # Every task uses the class: prompt labels and video results name it.
    prompt = predictor.predict_prompts(points=[[30, 20]])
    assert prompt.class_names == ('thing a', 'cat')
    video = predictor.predict_video([image, image], task='instance')
    assert video.class_names == ('thing a', 'cat')


@pytest.mark.parametrize('prototype', ['decoder', 'clip', 'mix'])
def test_a_vocabulary_with_exemplars_is_saved_and_loaded(predictor, image, tmp_path,
                                                          prototype):
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[10:40, 20:60] = True
    predictor.exemplar_prototype = prototype
    predictor.add_exemplar('red box', image, mask)
    predictor.add_exemplar('floor', image, ~mask, thing=False)
    predictor.set_vocabulary(['red box', 'cat'], stuff_classes=['floor', 'sky'])
    saved = predictor.model.panoptic_head.text_classifier.cls_embed.clone()
    path = predictor.save_vocabulary(tmp_path / 'vocab.pth')

    other = Predictor(copy.deepcopy(predictor.model))
    other.set_vocabulary(['dog'])
    other.load_vocabulary(path)
    assert other.class_names == ('red box', 'cat', 'floor', 'sky') and other.num_things == 2
    assert other.exemplar_prototype == prototype
    assert torch.allclose(other.model.panoptic_head.text_classifier.cls_embed, saved)


def test_bad_examples_raise_errors_naming_the_value(predictor, image, tmp_path):
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    with pytest.raises(ValueError, match=r"example mask \[0\] of 'gadget' is empty"):
        predictor.add_exemplar('gadget', image, mask)
    with pytest.raises(ValueError, match=r"'gadget' has size \(10, 84\), its image \(60, 84\)"):
        predictor.add_exemplar('gadget', image, np.ones((10, WIDTH), dtype=bool))
    with pytest.raises(ValueError, match='no image'):
        Predictor(predictor.model).add_exemplar('gadget', mask=mask)
    mask[10:40, 20:60] = True
    predictor.add_exemplar('gadget', image, mask)
    with pytest.raises(ValueError, match=r"'gadget,widget' is defined both by text and by "
                                         r"examples \('gadget'"):
        predictor.set_vocabulary(['gadget,widget', 'cat'])
    with pytest.raises(ValueError, match="'gadget' was added as a thing but the vocabulary "
                                         'lists it among the stuff'):
        predictor.set_vocabulary(['cat'], stuff_classes=['gadget'])
    with pytest.raises(ValueError, match="'gadget' was added as a thing; got thing=False"):
        predictor.add_exemplar('gadget', image, mask, thing=False)
    with pytest.raises(ValueError, match="unknown exemplar prototype 'mean'"):
        Predictor(predictor.model, exemplar_prototype='mean')
    predictor.set_vocabulary(['gadget'])
    path = predictor.save_vocabulary(tmp_path / 'vocab.pth')
    content = torch.load(path, weights_only=True)
    content['embed_dim'] += 1
    torch.save(content, path)
    with pytest.raises(ValueError, match='embed_dim=33'):
        predictor.load_vocabulary(path)
