"""Semantic queries and prompts in one decoder pass (ImagePromptTask, combine_queries)."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from seg.models import build_segmentor
from seg.models.tasks.combined_queries import combine_queries, split_output
from seg.models.tasks.prompt_task import first_tokens
from seg.registry import DATASETS

# The prompt settings of the toy interactive config: every branch of combine_queries is used
# (per-image self-attention masks from padded extra clicks, no first-layer mask for prompts,
# the locality bias on the prompt rows only).
ONE_PASS_ENCODER = dict(type='PromptEncoder', point_type_embedding=True, frame='padded',
                        content_seed='mask_features', first_layer_mask=False, multi_point=True,
                        locality=True)


def prompt_model(tiny_cfg, encoder):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['prompt_encoder'] = copy.deepcopy(encoder)
    cfg['test_cfg'] = dict(panoptic_on=True, instance_on=True, semantic_on=True)
    torch.manual_seed(0)
    model = build_segmentor(cfg)
    model.init_weights()
    # Random prompt-side parameters, so a prompt that leaked into the semantic queries (or
    # the reverse) would change their outputs visibly.
    with torch.no_grad():
        for parameter in model.prompt_encoder.parameters():
            parameter.normal_(0.0, 0.5)
    return model.eval()


@pytest.fixture(scope='module')
def images(toy_data_root):
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(toy_data_root), test_mode=True,
        ann_file='annotations/panoptic_val2017.json',
        data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                  dict(type='PackSegInputs')]))
    return pseudo_collate([dataset[0], dataset[1]])


def with_prompts(batch):
    """Image 0: a click with a negative and a positive extra click, and a box; image 1: one
    click (fewer prompts and no extra clicks: padded rows and padded tokens)."""
    batch = copy.deepcopy(batch)
    first, second = batch['data_samples']
    first.prompts = InstanceData(
        boxes=torch.tensor([[20., 15., 20., 15.], [5., 5., 40., 30.]]),
        is_point=torch.tensor([True, False]),
        points=torch.tensor([[[30., 20.], [22., 18.]], [[0., 0.], [0., 0.]]]),
        point_labels=torch.tensor([[0, 1], [-1, -1]]))
    second.prompts = InstanceData(boxes=torch.tensor([[10., 30., 10., 30.]]),
                                  is_point=torch.tensor([True]))
    return batch


@pytest.mark.parametrize('encoder', [dict(type='PromptEncoder'), ONE_PASS_ENCODER],
                         ids=['reference', 'toy-interactive'])
def test_one_pass_equals_the_two_separate_passes(tiny_cfg, images, encoder):
    model = prompt_model(tiny_cfg, encoder)
    batch = with_prompts(images)
    if not encoder.get('multi_point'):  # the reference encoder: one click or box a prompt
        for sample in batch['data_samples']:
            sample.prompts = InstanceData(boxes=sample.prompts.boxes,
                                          is_point=sample.prompts.is_point)
    data = model.data_preprocessor(batch, False)
    features = model.image_features(data['inputs'])

    # The decoder outputs: semantic rows as a semantic-only pass, prompt rows as a
    # prompt-only pass (float summation order aside).
    prompt_task = model.tasks['prompt']
    prompts, _ = prompt_task.queries_for(data['data_samples'], features, pad=True)
    head = model.panoptic_head
    semantic = head.semantic_queries(2)
    combined = head(features.backbone, queries=combine_queries(semantic, prompts),
                    pixel_features=features.pixel)
    semantic_part, prompt_part = split_output(combined, semantic['query_feat'].shape[1])
    alone = head(features.backbone, pixel_features=features.pixel)
    prompts_alone = head(features.backbone, queries=prompts, pixel_features=features.pixel)
    for part, reference in ((semantic_part, alone), (prompt_part, prompts_alone)):
        assert len(part.predictions) == len(reference.predictions)
        for mine, theirs in zip(part.predictions, reference.predictions):
            torch.testing.assert_close(mine.mask_logits, theirs.mask_logits,
                                       atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(mine.class_logits, theirs.class_logits,
                                       atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(mine.objectness, theirs.objectness,
                                       atol=1e-4, rtol=1e-4)
    tokens = int(prompts.get('tokens_per_prompt', 1))
    assert first_tokens(prompt_part, tokens).last.mask_logits.shape[1] == 2

    # The results: panoptic / semantic maps identical, prompt masks and labels as alone.
    one_pass = model.predict_image_and_prompts(features, copy.deepcopy(data['data_samples']))
    image_only = model.predict_image(features, copy.deepcopy(data['data_samples']))
    prompt_only = model.predict_prompts(features, copy.deepcopy(data['data_samples']))
    for mine, image, prompt in zip(one_pass, image_only, prompt_only):
        assert torch.equal(mine.pred_panoptic_seg.sem_seg, image.pred_panoptic_seg.sem_seg)
        assert torch.equal(mine.pred_sem_seg.sem_seg, image.pred_sem_seg.sem_seg)
        torch.testing.assert_close(mine.pred_instances.scores, image.pred_instances.scores,
                                   atol=1e-5, rtol=1e-5)
        assert torch.equal(mine.pred_instances.labels, image.pred_instances.labels)
        assert len(mine.pred_prompts) == len(prompt.pred_prompts) == len(mine.prompts)
        assert torch.equal(mine.pred_prompts.labels, prompt.pred_prompts.labels)
        torch.testing.assert_close(mine.pred_prompts.scores, prompt.pred_prompts.scores,
                                   atol=1e-5, rtol=1e-5)
        changed = (mine.pred_prompts.masks != prompt.pred_prompts.masks).float().mean()
        assert changed < 1e-3  # a pixel whose logit is ~0 may flip


def test_prompts_change_their_masks_and_not_the_semantic_results(tiny_cfg, images):
    """A test that fails when the groups are not isolated (or the prompt rows ignored)."""
    model = prompt_model(tiny_cfg, ONE_PASS_ENCODER)
    batch = with_prompts(images)
    moved = copy.deepcopy(batch)
    moved['data_samples'][0].prompts.boxes[0] = torch.tensor([50., 40., 50., 40.])
    results = []
    for prompts in (batch, moved):
        data = model.data_preprocessor(prompts, False)
        features = model.image_features(data['inputs'])
        results.append(model.predict_image_and_prompts(features, data['data_samples'])[0])
    assert torch.equal(results[0].pred_panoptic_seg.sem_seg, results[1].pred_panoptic_seg.sem_seg)
    torch.testing.assert_close(results[0].pred_instances.scores, results[1].pred_instances.scores)
    assert not torch.equal(results[0].pred_prompts.masks[0], results[1].pred_prompts.masks[0])
    assert torch.equal(results[0].pred_prompts.masks[1], results[1].pred_prompts.masks[1])


def test_test_step_with_panoptic_is_one_decoder_pass(tiny_cfg, images):
    model = prompt_model(tiny_cfg, ONE_PASS_ENCODER)
    calls = []
    model.panoptic_head.register_forward_hook(lambda *args: calls.append(1))
    batch = with_prompts(images)
    with model.inference_settings(interactive_test_cfg=dict(with_panoptic=True)):
        samples = model.test_step(batch)
    assert len(calls) == 1
    assert 'pred_panoptic_seg' in samples[0] and 'pred_prompts' in samples[0]
    assert samples[0].pred_prompts.masks.shape[0] == 2


def test_combined_queries_keep_the_groups_apart():
    semantic = dict(query_feat=torch.zeros(1, 3, 4), query_embed=torch.zeros(1, 3, 4))
    prompts = dict(query_feat=torch.ones(1, 4, 4), query_embed=torch.ones(1, 4, 4),
                   self_attn_mask=torch.tensor([[False, False, True, True]] * 2
                                               + [[True, True, False, False]] * 2),
                   first_layer_mask=False,
                   mask_logit_bias=lambda out: torch.full(out.shape[:2] + (2, 2), -1.0))
    combined = combine_queries(semantic, prompts)
    mask = combined['self_attn_mask']
    assert mask.shape == (7, 7)
    assert not mask[:3, :3].any() and mask[:3, 3:].all() and mask[3:, :3].all()
    assert torch.equal(mask[3:, 3:], prompts['self_attn_mask'])
    assert combined['first_layer_mask'].tolist() == [True] * 3 + [False] * 4
    bias = combined['mask_logit_bias'](torch.zeros(1, 7, 4))
    assert bias[:, :3].abs().sum() == 0 and bool((bias[:, 3:] == -1).all())
    assert np.array_equal(combined['query_feat'][0, :, 0].numpy(), [0, 0, 0, 1, 1, 1, 1])
