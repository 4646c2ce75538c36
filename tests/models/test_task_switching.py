"""Switching one model between test tasks: `selected_vocabulary` (a sub-vocabulary reuses the
matching text prototypes, so its class logits are the model's columns for those classes) and
`inference_settings` (per-task post-processing / video / prompt settings); both restore the
model after."""
import pytest
import torch

from seg.models import build_segmentor
from seg.vocab import Vocabulary


def test_selected_vocabulary_scores_are_the_matching_columns(tiny_cfg):
    torch.manual_seed(0)
    model = build_segmentor(tiny_cfg).eval()
    full = model.vocabulary  # toy: ball, box, tent, ring / sky, grass, water
    queries = torch.randn(1, 5, model.panoptic_head.text_classifier.embed_dim)
    full_logits = model.panoptic_head.text_classifier(queries)
    # Another dataset's names (different order, a synonym spelling) for 3 of the classes.
    subset = Vocabulary(('Tent', 'ball'), ('grass,lawn',), 'other_dataset')
    with model.selected_vocabulary(subset):
        assert model.vocabulary is subset and model.num_classes == 3
        assert model.panoptic_head.text_classifier.num_things == 2
        logits = model.panoptic_head.text_classifier(queries)
        columns = [full.classes.index(name) for name in ('tent', 'ball', 'grass')]
        torch.testing.assert_close(logits[..., :3], full_logits[..., columns])
        assert torch.all(logits[..., 3] == 0)  # background
    assert model.vocabulary == full and model.num_classes == 7
    torch.testing.assert_close(model.panoptic_head.text_classifier(queries), full_logits)


def test_classes_the_model_does_not_know_are_refused(tiny_cfg):
    model = build_segmentor(tiny_cfg)
    with pytest.raises(ValueError, match=r"does not name: \['zebra'\]"):
        model.select_vocabulary(Vocabulary(('ball', 'zebra'), (), 'zoo'))
    assert model.num_classes == 7


def test_inference_settings_apply_inside_the_block_only(tiny_cfg):
    model = build_segmentor(tiny_cfg)
    before = model.postprocessor.cfg, model.video_cfg, model.interactive_test_cfg
    with model.inference_settings(test_cfg=dict(panoptic_on=False), video_cfg=dict(clip_size=2),
                                  interactive_test_cfg=dict(with_panoptic=True)):
        assert model.postprocessor.cfg.panoptic_on is False
        assert model.postprocessor.cfg.instance_on == before[0].instance_on
        assert model.video_cfg.clip_size == 2 and model.interactive_test_cfg.with_panoptic
        assert model.video_cfg.overlap == before[1].overlap  # keys update, others stay
    assert (model.postprocessor.cfg, model.video_cfg, model.interactive_test_cfg) == before
    with pytest.raises(KeyError, match='panoptic_of'):
        with model.inference_settings(test_cfg=dict(panoptic_of=True)):
            pass
    assert model.postprocessor.cfg == before[0]
