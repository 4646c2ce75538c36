"""The toy config builds its model, datasets and evaluators, and can be re-pointed at another
folder with the --cfg-options line documented in DATASET.md."""
from pathlib import Path

from mmengine.config import Config

from seg.models import build_segmentor
from seg.registry import DATASETS, METRICS

TOY_CONFIG = Path(__file__).resolve().parents[2] / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


def documented_options(data_root: Path) -> dict:
    root = f'{data_root}/'
    return {
        'train_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'model.vocabulary.ann_file': f'{data_root}/annotations/panoptic_train2017.json',
        'model.vocabulary.name': 'my_dataset',
    }


def test_toy_config_builds_model_datasets_and_evaluators(toy_data_root):
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.merge_from_dict(documented_options(toy_data_root))
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(cfg[loader].dataset)
        assert Path(dataset.data_root) == toy_data_root
        assert len(dataset) > 0
    model = build_segmentor(cfg.model)
    assert model.vocabulary.name == 'my_dataset'
    assert model.vocabulary.classes == dataset.metainfo['classes']
    assert model.panoptic_head.num_queries == 20
    metrics = [METRICS.build(metric) for metric in cfg.test_evaluator]
    assert [m.default_prefix for m in metrics] == ['coco_panoptic', 'coco_instance', 'sem_seg']


def test_vocabulary_follows_the_json_of_the_folder(toy_data_root, tmp_path):
    import json
    import shutil
    other = tmp_path / 'renamed'
    shutil.copytree(toy_data_root, other)
    ann = other / 'annotations' / 'panoptic_train2017.json'
    content = json.loads(ann.read_text())
    content['categories'][0]['name'] = 'sphere'
    ann.write_text(json.dumps(content))
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.merge_from_dict(documented_options(other))
    model = build_segmentor(cfg.model)
    assert model.vocabulary.thing_classes[0] == 'sphere'
    assert model.panoptic_head.text_classifier.num_classes == len(content['categories'])
