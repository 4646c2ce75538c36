"""OMGSegmentor on prompt batches, with open-vocabulary fusion and run-time vocabularies."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData

from seg.evaluation.click_protocol import ClickProtocol, add_click_ious
from seg.evaluation.functional import mask_iou
from seg.models import build_segmentor
from seg.registry import DATASETS
from seg.structures import SegDataSample
from seg.utils.constants import INSTANCE_OFFSET


def interactive_dataset(root, split, test_mode=False):
    if test_mode:
        pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(64, 64)),
                    dict(type='LoadPanopticAnnotations'), dict(type='AddStuffInstances'),
                    dict(type='GenerateEvalClicks'), dict(type='PackInteractiveInputs')]
    else:
        pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                    dict(type='AddStuffInstances'), dict(type='Resize', scale=(64, 64)),
                    dict(type='GeneratePrompts', num_prompts=4),
                    dict(type='PackInteractiveInputs')]
    return DATASETS.build(dict(
        type='CocoPanopticInteractiveDataset', data_root=str(root), test_mode=test_mode,
        ann_file=f'annotations/panoptic_{split}2017.json', pipeline=pipeline,
        data_prefix=dict(img=f'{split}2017/', seg=f'annotations/panoptic_{split}2017/')))


def build_model(cfg, **changes):
    cfg = copy.deepcopy(cfg)
    cfg['prompt_encoder'] = dict(type='PromptEncoder')
    cfg.update(copy.deepcopy(changes))
    torch.manual_seed(0)
    model = build_segmentor(cfg)
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def prompt_batch(toy_data_root):
    np.random.seed(0)
    dataset = interactive_dataset(toy_data_root, 'train')
    return pseudo_collate([dataset[i] for i in range(2)])


@pytest.fixture(scope='module')
def semantic_samples(toy_data_root):
    """Two panoptic training samples (no prompts) of the toy data."""
    dataset = DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(toy_data_root),
        ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
                  dict(type='Resize', scale=(64, 64)), dict(type='PackSegInputs')]))
    return [dataset[0], dataset[1]]


@pytest.fixture(scope='module')
def eval_batch(toy_data_root):
    dataset = interactive_dataset(toy_data_root, 'val', test_mode=True)
    return pseudo_collate([dataset[i] for i in range(2)])


def test_prompt_batch_is_supervised_by_masks_only(tiny_cfg, prompt_batch):
    model = build_model(tiny_cfg)
    model.train()
    data = model.data_preprocessor(copy.deepcopy(prompt_batch), True)
    losses = model(**data, mode='loss')
    for layer in ('d0.', 'd1.', ''):
        assert losses[f'{layer}loss_cls'].item() == 0
        assert losses[f'{layer}loss_mask'].item() > 0 and losses[f'{layer}loss_dice'].item() > 0
    sum(losses.values()).backward()
    encoder = model.prompt_encoder
    assert encoder.pos_linear.weight.grad.abs().sum() > 0
    assert encoder.pb_embedding.weight.grad[0].abs().sum() > 0  # clicks use the "box" type
    # Parameters prompt batches do not use get no gradient at all (not a zero one, which
    # AdamW's momentum and weight decay would still act on).
    head = model.panoptic_head
    for unused in (head.query_feat.weight, head.query_embed.weight, head.cls_proj[0].weight,
                   head.iou_embed[0].weight):
        assert unused.grad is None
    # The same model's tensor mode decodes one query per prompt.
    output = model(**model.data_preprocessor(copy.deepcopy(prompt_batch), False), mode='tensor')
    assert output.last.mask_logits.shape[:2] == (2, 4)


def test_batches_mixing_prompt_and_semantic_samples_are_refused(tiny_cfg, prompt_batch,
                                                                semantic_samples):
    model = build_model(tiny_cfg)
    semantic = copy.deepcopy(semantic_samples[0])
    prompted = copy.deepcopy(prompt_batch)
    mixed = dict(inputs=[semantic['inputs'], prompted['inputs'][0]],
                 data_samples=[semantic['data_samples'], prompted['data_samples'][0]])
    data = model.data_preprocessor(mixed, True)
    with pytest.raises(ValueError, match='mixes prompt samples'):
        model(**data, mode='loss')
    with pytest.raises(ValueError, match='mixes prompt samples'):
        model.eval()(**data, mode='predict')


def test_prompted_masks_are_labelled_and_the_click_protocol_is_consistent(tiny_cfg, eval_batch):
    model = build_model(tiny_cfg, interactive_test_cfg=dict(with_panoptic=True))
    model.eval()
    samples = model(**model.data_preprocessor(copy.deepcopy(eval_batch), False), mode='predict')
    # The evaluation side drives the model through predict_prompts for clicks 2 and 3.
    add_click_ious(model, copy.deepcopy(eval_batch), samples, ClickProtocol(max_clicks=3))
    for sample in samples:
        result, gt = sample.pred_prompts, sample.gt_instances
        count = len(sample.prompts)
        assert result.masks.shape == (count,) + tuple(sample.ori_shape)
        assert result.masks.dtype == torch.bool
        assert bool((result.labels < model.num_classes).all())
        assert bool(((result.scores > 0) & (result.scores < 1)).all())
        assert result.click_ious.shape == (count, 3)
        # Click 1 of the protocol is the prompt the pipeline gave: same masks, same IoU.
        first = [mask_iou(p.numpy(), g.numpy()) for p, g in zip(result.masks, gt.masks)]
        np.testing.assert_allclose(result.click_ious[:, 0].numpy(), first)
        assert 'pred_panoptic_seg' in sample  # with_panoptic: one pass, both tasks
    with model.inference_settings(interactive_test_cfg=dict(with_panoptic=False)):
        samples = model(**model.data_preprocessor(copy.deepcopy(eval_batch), False),
                        mode='predict')
    add_click_ious(model, copy.deepcopy(eval_batch), samples, ClickProtocol(max_clicks=1))
    assert 'click_ious' not in samples[0].pred_prompts  # one click: the pipeline's prompts
    assert 'pred_panoptic_seg' not in samples[0]
    with pytest.raises(KeyError, match='InteractiveMetric'):
        build_model(tiny_cfg, interactive_test_cfg=dict(max_clicks=3))


def test_runtime_vocabulary_changes_the_predicted_label_set(tiny_cfg, eval_batch,
                                                            isolated_cache):
    model = build_model(tiny_cfg)
    model.eval()
    names = ['cat', 'dog', 'bird, parrot']
    vocabulary = model.set_vocabulary(names, stuff_classes=['lawn'])
    assert model.num_classes == 4 and model.panoptic_head.text_classifier.num_things == 3
    cached = isolated_cache / 'embeddings' / f'convnext_omg_test_{vocabulary.name}.pth'
    assert cached.is_file()
    samples = model(**model.data_preprocessor(copy.deepcopy(eval_batch), False),
                    mode='predict')
    assert set(samples[0].pred_prompts.labels.tolist()) <= {0, 1, 2, 3}
    with model.inference_settings(interactive_test_cfg=dict(with_panoptic=True)):
        samples = model(**model.data_preprocessor(copy.deepcopy(eval_batch), False),
                        mode='predict')
    for sample in samples:
        labels = sample.pred_panoptic_seg.sem_seg % INSTANCE_OFFSET
        assert int(labels.max()) <= 4  # 4 = unassigned with K = 4
        assert bool((sample.pred_instances.labels < 3).all())  # the 3 thing classes
    # Switching again installs the new embeddings.
    model.set_vocabulary(['ball', 'box'])
    assert model.panoptic_head.text_classifier.num_classes == 2


def test_open_vocab_fusion_is_switched_by_config(tiny_cfg, toy_data_root, eval_batch,
                                                 monkeypatch):
    seen = [1, 0, 1, 0, 1, 0, 1]
    model = build_model(tiny_cfg, open_vocab=dict(seen_flags=seen, alpha=0.4, beta=0.8))
    off = build_model(tiny_cfg, open_vocab=dict(enabled=False, seen_flags=seen))
    assert off.open_vocab is None and len(seen) == model.num_classes
    captured = {}

    def capture(name):
        def predict(class_logits, mask_logits, samples, num_things, rescale=True):
            captured[name] = class_logits
            return [{} for _ in samples]
        return predict

    data = model.data_preprocessor(copy.deepcopy(eval_batch), False)
    for name, segmentor in (('on', model), ('off', off)):
        segmentor.eval()
        monkeypatch.setattr(segmentor.postprocessor, 'predict', capture(name))
        with segmentor.inference_settings(interactive_test_cfg=dict(with_panoptic=True)):
            segmentor(**copy.deepcopy(data), mode='predict')
    # Fused outputs are log-probabilities; the plain decoder's are logits with background 0.
    assert torch.allclose(captured['on'].exp().sum(-1), torch.ones(1), atol=1e-4)
    assert torch.all(captured['off'][..., -1] == 0)


# ---------------------------------------------------------------- issue 14
ISSUE14_ENCODER = dict(type='PromptEncoder', point_type_embedding=True, frame='padded',
                       content_seed='mask_features', first_layer_mask=False, multi_point=True)


def eval_samples(root, scale, count=1):
    dataset = interactive_dataset(root, 'val', test_mode=True)
    dataset.pipeline.transforms[1].scale = scale  # Resize
    return [dataset[i] for i in range(count)]


@pytest.mark.parametrize('encoder', [dict(type='PromptEncoder'), ISSUE14_ENCODER],
                         ids=['reference', 'issue14'])
def test_click_protocol_result_does_not_depend_on_the_other_images_of_the_batch(
        tiny_cfg, toy_data_root, encoder):
    model = build_model(tiny_cfg, prompt_encoder=encoder)
    model.eval()
    small = eval_samples(toy_data_root, (64, 64))
    big = eval_samples(toy_data_root, (128, 128), count=2)[1:]
    ious = []
    for batch in (small, small + big):
        batch = pseudo_collate(copy.deepcopy(batch))
        samples = model(**model.data_preprocessor(copy.deepcopy(batch), False), mode='predict')
        add_click_ious(model, batch, samples, ClickProtocol(max_clicks=3))
        ious.append(samples[0].pred_prompts.click_ious)
    torch.testing.assert_close(ious[0], ious[1])


def test_multi_point_model_trains_on_extra_clicks_and_the_protocol_uses_them(
        tiny_cfg, toy_data_root):
    model = build_model(tiny_cfg, prompt_encoder=ISSUE14_ENCODER)
    dataset = interactive_dataset(toy_data_root, 'train')
    dataset.pipeline.transforms[4].max_extra_points = 2  # GeneratePrompts
    np.random.seed(1)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    assert batch['data_samples'][0].prompts.points.shape == (4, 2, 2)
    model.train()
    losses = model(**model.data_preprocessor(copy.deepcopy(batch), True), mode='loss')
    sum(losses.values()).backward()
    assert model.prompt_encoder.point_label_embedding.weight.grad.abs().sum() > 0
    output = model(**model.data_preprocessor(copy.deepcopy(batch), False), mode='tensor')
    assert output.last.mask_logits.shape[:2] == (2, 4)  # 3 tokens a prompt, one mask each
    # The protocol gives each object one prompt with all its clicks (it asks for them).
    model.eval()
    calls = []
    original = model.predict_prompts

    def spy(features, samples, rescale=True):
        calls.append(samples[0].prompts)
        return original(features, samples, rescale=rescale)

    model.predict_prompts = spy
    eval_batch = pseudo_collate(eval_samples(toy_data_root, (64, 64)))
    samples = model(**model.data_preprocessor(copy.deepcopy(eval_batch), False), mode='predict')
    add_click_ious(model, eval_batch, samples, ClickProtocol(max_clicks=3, stop_iou=1.01))
    assert 'points' not in calls[1]  # click 1 of the protocol: one click per prompt
    assert calls[-1].points.shape[1] == 2  # click 3: the first click + 2 extra
    assert samples[0].pred_prompts.click_ious.shape[1] == 3


def test_two_clicks_on_different_segments_give_their_own_masks_after_a_short_overfit(
        tiny_cfg, toy_data_root):
    """Fails when the decoder ignores where the click is (every click the same mask)."""
    model = build_model(tiny_cfg, prompt_encoder=ISSUE14_ENCODER)
    dataset = interactive_dataset(toy_data_root, 'train')
    image = dataset[0]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    model.train()
    np.random.seed(0)
    torch.manual_seed(0)
    for _ in range(40):
        sample = dataset[0]
        data = model.data_preprocessor(pseudo_collate([sample]), True)
        loss = sum(model(**data, mode='loss').values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    gt = image['data_samples'].gt_instances.masks.numpy().astype(bool)
    areas = gt.reshape(len(gt), -1).sum(1)
    first, second = np.argsort(-areas)[:2]  # the two largest segments
    from seg.structures.clicks import farthest_interior_point
    clicks = [farthest_interior_point(gt[first]), farthest_interior_point(gt[second])]
    query = copy.deepcopy(image['data_samples'])
    query.prompts = InstanceData(
        boxes=torch.tensor([[x, y, x, y] for x, y in clicks], dtype=torch.float32),
        is_point=torch.ones(2, dtype=torch.bool))
    data = model.data_preprocessor(pseudo_collate([dict(inputs=image['inputs'],
                                                        data_samples=query)]), False)
    features = model.image_features(data['inputs'])
    masks = model.predict_prompts(features, data['data_samples'], rescale=False)[0] \
        .pred_prompts.masks.numpy()
    for mask, own, other in ((masks[0], gt[first], gt[second]),
                             (masks[1], gt[second], gt[first])):
        assert mask_iou(mask, own) > mask_iou(mask, other)
    assert mask_iou(masks[0], masks[1]) < 0.5


@pytest.mark.parametrize('predicted', ['nothing', 'everything', 'exact'])
def test_corrective_clicks_land_on_the_error_of_each_prompt(predicted):
    """PromptEncoder(corrective_clicks): a positive click on missed pixels, a negative one on
    wrongly covered pixels, a padding slot when the mask is right."""
    from seg.models.heads import DecoderOutput, QueryPredictions
    from seg.models.tasks import PromptTask
    gt = torch.zeros(2, 32, 32, dtype=torch.bool)
    gt[0, 4:12, 4:20] = True
    gt[1, 20:30, 8:16] = True
    cell_centres = gt[:, 2::4, 2::4]  # the targets at the stride-4 mask resolution
    logits = {'nothing': torch.full((1, 2, 8, 8), -5.0),
              'everything': torch.full((1, 2, 8, 8), 5.0),
              'exact': cell_centres[None].float() * 10 - 5}[predicted]

    class FakeTask(PromptTask):
        def decode(self, features, data_samples, pad=False, inference=False):
            prediction = QueryPredictions(torch.zeros(1, 2, 3), torch.zeros(1, 2, 1), logits)
            return DecoderOutput([prediction], torch.zeros(1, 2, 4)), [2]

    task = FakeTask(None, None, None, None)
    sample = SegDataSample(metainfo=dict(img_shape=(32, 32)))
    sample.prompts = InstanceData(boxes=torch.tensor([[8., 8., 8., 8.], [10., 24., 10., 24.]]),
                                  is_point=torch.ones(2, dtype=torch.bool),
                                  points=torch.zeros(2, 1, 2),
                                  point_labels=torch.tensor([[1], [-1]]))
    torch.manual_seed(0)
    task.add_corrective_clicks(None, [sample], [gt])
    points, labels = sample.prompts.points, sample.prompts.point_labels
    assert points.shape == (2, 2, 2) and labels[:, 0].tolist() == [1, -1]  # kept, then added
    for mask, (x, y), label in zip(gt, points[:, 1].long(), labels[:, 1]):
        if predicted == 'nothing':
            assert label == 1 and mask[y, x]
        elif predicted == 'everything':
            assert label == 0 and not mask[y, x]
        else:
            assert label == -1


def test_adamw_leaves_the_parameters_of_the_other_batch_kind_alone(tiny_cfg, prompt_batch,
                                                                   semantic_samples):
    model = build_model(tiny_cfg)
    semantic_batch = pseudo_collate(copy.deepcopy(semantic_samples))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=1e-2, weight_decay=0.05)
    model.train()

    def step(batch):
        optimizer.zero_grad()
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        sum(model(**data, mode='loss').values()).backward()
        optimizer.step()

    step(semantic_batch)  # AdamW now holds momentum for the semantic queries and class head
    head = model.panoptic_head
    semantic_only = {'query_feat': head.query_feat.weight, 'cls_proj': head.cls_proj[0].weight}
    before = {name: value.detach().clone() for name, value in semantic_only.items()}
    prompt_before = model.prompt_encoder.pos_linear.weight.detach().clone()
    step(prompt_batch)
    for name, value in semantic_only.items():
        assert torch.equal(value, before[name]), name
    assert not torch.equal(model.prompt_encoder.pos_linear.weight, prompt_before)
    prompt_after = model.prompt_encoder.pos_linear.weight.detach().clone()
    step(semantic_batch)
    assert torch.equal(model.prompt_encoder.pos_linear.weight, prompt_after)
