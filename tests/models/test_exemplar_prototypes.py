"""Example masks embedded in the classifier's space: a query's own mask gives back exactly the
query's class embedding (decoder prototype)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from seg.models import build_segmentor
from seg.models.exemplar_prototypes import example_masks_to_input, exemplar_embeddings


@pytest.fixture
def model(tiny_cfg):
    torch.manual_seed(0)
    return build_segmentor(copy.deepcopy(tiny_cfg)).eval()


def test_the_decoder_prototype_of_a_query_mask_is_that_query_class_embedding(model):
    features = model.image_features(torch.randn(1, 3, 64, 64))
    decoded = model.panoptic_head(features.backbone, pixel_features=features.pixel)
    final = decoded.predictions[-1]
    sizes = (final.mask_logits[0] > 0).flatten(1).sum(-1)
    query = int(torch.nonzero((sizes > 4) & (sizes < sizes.new_tensor(16 * 16 - 4)))[0])
    own_mask = (final.mask_logits[0, query] > 0).float()
    coverage = F.interpolate(own_mask[None, None], size=(64, 64), mode='nearest')[0]
    embeddings = exemplar_embeddings(model, features, coverage)
    logits = model.panoptic_head.text_classifier(embeddings['decoder'][None])[0, 0]
    assert torch.allclose(logits, final.class_logits[0, query], atol=1e-4)
    assert embeddings['clip'].shape == embeddings['decoder'].shape
    assert torch.allclose(embeddings['clip'].norm(dim=-1), torch.ones(1))


def test_masks_follow_the_resize_and_padding_of_the_input(model):
    mask = torch.zeros(1, 20, 40, dtype=torch.bool)
    mask[:, :, 20:] = True
    coverage = example_masks_to_input(mask, dict(img_shape=(10, 20),
                                                 batch_input_shape=(32, 32)))
    assert coverage.shape == (1, 32, 32)
    assert coverage[0, :10, 11:20].min() == 1 and coverage[0, :10, :9].max() == 0
    assert coverage[0, 10:].max() == 0 and coverage[0, :, 20:].max() == 0
    features = model.image_features(torch.randn(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r'example masks \[0\] are empty'):
        exemplar_embeddings(model, features, torch.zeros(1, 32, 32))
    with pytest.raises(ValueError, match=r'must be \(N, 32, 32\)'):
        exemplar_embeddings(model, features, torch.ones(1, 16, 32))
