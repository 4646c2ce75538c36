"""The interactive toy config and the ADE20K open-vocabulary evaluation config."""
from pathlib import Path
from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from seg.engine.config_validation import validate_config
from seg.engine.test_loops import click_protocol_of
from seg.models import build_segmentor
from seg.models.postprocess import OpenVocabFusion
from seg.registry import DATASETS, METRICS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def interactive_config(data_root: Path) -> Config:
    cfg = Config.fromfile(str(CONFIGS / 'toy' / 'omg_toy_interactive.py'))
    root = f'{data_root}/'
    cfg.merge_from_dict({
        'train_dataloader.dataset.datasets.0.data_root': root,
        'train_dataloader.dataset.datasets.1.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'model.vocabulary.ann_file': f'{data_root}/annotations/panoptic_train2017.json',
    })
    return cfg


def test_toy_interactive_config_trains_both_tasks_and_tests_both(toy_data_root):
    cfg = interactive_config(toy_data_root)
    validate_config(cfg)
    assert cfg.train_dataloader.batch_size == 1  # prompt and panoptic samples never mix
    train = DATASETS.build(cfg.train_dataloader.dataset)
    panoptic, prompted = train[0], train[len(train) - 1]
    assert 'prompts' not in panoptic['data_samples']
    assert len(prompted['data_samples'].prompts) == 20
    model = build_segmentor(cfg.model)
    model.train()
    for sample in (panoptic, prompted):
        data = model.data_preprocessor(pseudo_collate([sample]), True)
        losses = model(**data, mode='loss')
        assert all(torch.isfinite(value) for value in losses.values())
    assert model.interactive_test_cfg.with_panoptic
    test_sample = DATASETS.build(cfg.test_dataloader.dataset)[0]['data_samples']
    assert len(test_sample.prompts) == len(test_sample.gt_instances) > 0
    metrics = [METRICS.build(metric) for metric in cfg.test_evaluator]
    assert [m.default_prefix for m in metrics] == ['coco_panoptic', 'interactive']
    # The 20-click protocol is the interactive metric's; the test loop runs it for it.
    assert metrics[1].click_protocol.max_clicks == 20
    assert cfg.test_cfg.type.__name__ == 'SegTestLoop'
    assert click_protocol_of(SimpleNamespace(metrics=metrics)) == metrics[1].click_protocol


def test_ade20k_open_vocabulary_config():
    cfg = Config.fromfile(str(CONFIGS / 'omg_seg' / 'omg_convl_ade20k_panoptic_ov_eval.py'))
    validate_config(cfg)
    assert cfg.test_dataloader.dataset.type.__name__ == 'ADE20KPanopticDataset'
    assert cfg.test_dataloader.dataset.pipeline[1].scale == (2560, 640)
    fusion = OpenVocabFusion.from_config(cfg.model.open_vocab)
    assert (fusion.alpha, fusion.beta) == (0.4, 0.8)
    # Against the published model's training vocabulary: "bird" and "palm tree" are synonyms
    # of trained classes (the reference missed both), a chandelier is not.
    flags = fusion.seen_flags(['animal, animate being, bird', 'palm, palm tree',
                               'chandelier, pendant'])
    assert flags.tolist() == [True, True, False]


def test_toy_interactive_config_gives_every_rank_the_same_source_each_step(toy_data_root,
                                                                           monkeypatch):
    """Under DDP a prompt step and a panoptic step issue different collectives, so the two
    ranks of a step must draw from one source (issue 14: the config used ConcatDataset with
    the default sampler, whose ranks draw independently)."""
    from mmengine.registry import DATA_SAMPLERS
    import seg.datasets.samplers as samplers
    cfg = interactive_config(toy_data_root)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch_sampler_cfg = cfg.train_dataloader.get('batch_sampler')
    assert batch_sampler_cfg is not None, 'the config has no single-source batch sampler'
    kinds = []
    for rank in range(2):
        monkeypatch.setattr(samplers, 'get_dist_info', lambda rank=rank: (rank, 2))
        sampler = DATA_SAMPLERS.build(dict(cfg.train_dataloader.sampler, dataset=dataset,
                                           seed=0))
        batches = samplers.SingleSourceBatchSampler(sampler, cfg.train_dataloader.batch_size)
        kinds.append([_source_of(dataset, batch[0]) for batch in batches])
    length = min(len(kinds[0]), len(kinds[1]))
    assert length >= 4 and kinds[0][:length] == kinds[1][:length]
    assert set(kinds[0]) == {0, 1}


def _source_of(dataset, index: int) -> int:
    for source, (start, stop) in enumerate(dataset.source_ranges):
        if start <= index < stop:
            return source
    raise IndexError(index)
