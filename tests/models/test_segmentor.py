"""The top model end to end on generated data: the three forward modes, learning, errors."""
import copy

import pytest
import torch
from mmengine.dataset import pseudo_collate

from seg.models import build_segmentor, load_configured_vocabulary
from seg.models.heads import DecoderOutput
from seg.registry import DATASETS, MODELS
from seg.utils.constants import INSTANCE_OFFSET


def build_dataset(data_root, split='train', resize=(96, 96)):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadPanopticAnnotations'),
        dict(type='Resize', scale=resize, keep_ratio=True),
        dict(type='PackSegInputs'),
    ]
    return DATASETS.build(dict(
        type='CocoPanopticDataset', data_root=str(data_root),
        ann_file=f'annotations/panoptic_{split}2017.json',
        data_prefix=dict(img=f'{split}2017/', seg=f'annotations/panoptic_{split}2017/'),
        test_mode=split == 'val', pipeline=pipeline))


@pytest.fixture(scope='module')
def train_batch(toy_data_root):
    dataset = build_dataset(toy_data_root, resize=(96, 80))
    return pseudo_collate([dataset[i] for i in range(3)])


def test_tensor_mode_returns_every_prediction_for_mixed_sizes(model, train_batch):
    data = model.data_preprocessor(copy.deepcopy(train_batch), False)
    sizes = {tuple(img.shape[-2:]) for img in train_batch['inputs']}
    assert len(sizes) > 1, 'the toy images should have mixed sizes'
    output = model(**data, mode='tensor')
    batch, _, height, width = data['inputs'].shape
    num_layers = 2
    assert isinstance(output, DecoderOutput) and len(output.predictions) == num_layers + 1
    for prediction in output.predictions:
        assert prediction.class_logits.shape == (batch, 8, model.num_classes + 1)
        assert prediction.objectness.shape == (batch, 8, 1)
        assert prediction.mask_logits.shape == (batch, 8, height // 4, width // 4)
    assert output.query_feat.shape == (batch, 8, 32)
    # The background logit is the cosine with the zero prototype.
    assert torch.all(output.last.class_logits[..., -1] == 0)


def test_predict_mode_fills_all_predictions_at_original_size(model, toy_data_root):
    dataset = build_dataset(toy_data_root, split='val', resize=(64, 64))
    batch = pseudo_collate([dataset[i] for i in range(2)])
    model.eval()
    data = model.data_preprocessor(batch, False)
    samples = model(**data, mode='predict')
    for sample in samples:
        height, width = sample.ori_shape
        panoptic = sample.pred_panoptic_seg.sem_seg
        assert panoptic.shape == (1, height, width)
        labels = panoptic % INSTANCE_OFFSET
        assert int(labels.max()) <= model.num_classes
        assert sample.pred_sem_seg.sem_seg.shape == (1, height, width)
        assert int(sample.pred_sem_seg.sem_seg.max()) < model.num_classes
        instances = sample.pred_instances
        assert instances.masks.shape[1:] == (height, width)
        assert bool(torch.all(instances.labels < model.vocabulary.num_things))


def test_loss_mode_returns_finite_losses_for_every_layer(model, train_batch):
    model.train()
    data = model.data_preprocessor(copy.deepcopy(train_batch), True)
    losses = model(**data, mode='loss')
    expected = {'loss_cls', 'loss_mask', 'loss_dice'}
    for layer in range(2):
        expected |= {f'd{layer}.loss_cls', f'd{layer}.loss_mask', f'd{layer}.loss_dice'}
    assert set(losses) == expected
    assert all(torch.isfinite(value) for value in losses.values())


def test_loss_decreases_over_a_few_steps(model, train_batch):
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    totals = []
    for _ in range(12):
        data = model.data_preprocessor(copy.deepcopy(train_batch), True)
        losses = model(**data, mode='loss')
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert sum(totals[-3:]) / 3 < 0.8 * sum(totals[:3]) / 3, totals


def test_invalid_mode_is_rejected(model, train_batch):
    data = model.data_preprocessor(copy.deepcopy(train_batch), False)
    with pytest.raises(ValueError, match='invalid mode'):
        model(**data, mode='train')


def test_missing_embedding_file_names_the_gen_cls_command(tiny_cfg, tmp_path):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['text_embeddings'] = dict(cache_dir=str(tmp_path / 'empty'), generate_if_missing=False)
    cfg['config_path'] = 'configs/toy/omg_toy_coco_panoptic.py'
    with pytest.raises(FileNotFoundError, match='gen_cls.py configs/toy/omg_toy_coco_panoptic.py'):
        build_segmentor(cfg)


def test_embedding_file_of_another_vocabulary_is_rejected(tiny_cfg, tmp_path):
    from seg.vocab.text_embeddings import save_text_embeddings
    cfg = copy.deepcopy(tiny_cfg)
    path = tmp_path / 'wrong.pth'
    embeddings = torch.nn.functional.normalize(torch.randn(3, 1, 32), dim=-1)
    save_text_embeddings(path, embeddings, ['a', 'b', 'c'], 'convnext_omg_test')
    cfg['text_embeddings'] = dict(file=str(path), generate_if_missing=False)
    with pytest.raises(ValueError, match='wrong.pth'):
        build_segmentor(cfg)


def test_constructor_reads_no_file_and_an_uninstalled_vocabulary_is_reported(tiny_cfg,
                                                                          tmp_path):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['vocabulary'] = dict(ann_file=str(tmp_path / 'not_there.json'))
    cfg['text_embeddings'] = dict(file=str(tmp_path / 'not_there.pth'))
    model = MODELS.build(cfg)  # neither file is read here
    assert model.vocabulary is None
    with pytest.raises(RuntimeError, match='build_segmentor'):
        model(torch.zeros(1, 3, 32, 32), None, mode='tensor')
    with pytest.raises(FileNotFoundError, match='not_there.json'):
        load_configured_vocabulary(model)
