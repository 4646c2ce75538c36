import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seg.registry import MODELS
from seg.vocab import generate_text_embeddings, load_text_embeddings

REPO_ROOT = Path(__file__).resolve().parents[2]
GEN_CLS = REPO_ROOT / 'tools' / 'gen_cls.py'

BACKBONE_CFG = '''
from seg.models.backbones import OpenCLIPBackbone

model = dict(
    backbone=dict(
        type=OpenCLIPBackbone,
        model_name='convnext_gen_cls_test',
        pretrained=None,
        model_cfg=dict(
            embed_dim=16,
            vision_cfg=dict(timm_model_name='convnext_trunk_gen_cls_test', timm_pool='',
                            timm_proj='mlp', timm_drop=0.0, timm_drop_path=0.0, image_size=64),
            text_cfg=dict(context_length=77, vocab_size=49408, width=16, heads=2, layers=1)),
        trunk_cfg=dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32), conv_mlp=False)){model_extra})
'''


def write_config(folder: Path, extra: str = '', model_extra: str = '') -> Path:
    config = folder / 'tiny_gen_cls_config.py'
    config.write_text(BACKBONE_CFG.format(model_extra=model_extra) + extra)
    return config


@pytest.fixture(scope='module')
def gen_cls():
    spec = importlib.util.spec_from_file_location('gen_cls_tool', GEN_CLS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_panoptic_json(path: Path) -> None:
    categories = [
        dict(id=1, name='person', isthing=1),
        dict(id=7, name='sky-other-merged', isthing=0),
        dict(id=3, name='car', isthing=1)
    ]
    path.write_text(json.dumps(dict(images=[], annotations=[], categories=categories)))


def test_classes_from_config_written_to_the_cache_dir(gen_cls, tmp_path, capsys):
    config = write_config(
        tmp_path, "CLASSES = ['person,child', 'tv_or_monitor', 'sky']\n"
        "DATASET_NAME = 'TinyVocab'\n")
    written = Path(
        gen_cls.main([
            str(config), '--cache-dir',
            str(tmp_path / 'cache'), '--batch-size', '7', '--device', 'cpu'
        ]))
    assert written == tmp_path / 'cache' / 'convnext_gen_cls_test_TinyVocab.pth'
    assert str(written) in capsys.readouterr().out
    names = ['person,child', 'tv_or_monitor', 'sky']
    embeddings = load_text_embeddings(written,
                                      class_names=names,
                                      model_name='convnext_gen_cls_test')
    assert embeddings.shape == (3, 2, 16)
    # Same as encoding with the backbone's (seeded, random) text tower directly.
    from mmengine.config import Config
    backbone = MODELS.build(Config.fromfile(config).model.backbone)
    expected = generate_text_embeddings(backbone.get_text_encoder(), names, progress=False)
    torch.testing.assert_close(embeddings, expected)


def test_cfg_options_and_out_file(gen_cls, tmp_path):
    config = write_config(tmp_path, "CLASSES = ['cat', 'dog']\nDATASET_NAME = 'Pets'\n")
    out = tmp_path / 'exact' / 'file.pth'
    assert Path(
        gen_cls.main(
            [str(config), '--out',
             str(out), '--cfg-options', "CLASSES=['cat','dog','bird']"])) == out
    assert load_text_embeddings(out, num_classes=3).shape == (3, 1, 16)


def test_vocabulary_and_cache_dir_from_the_model_config(gen_cls, tmp_path):
    ann_file = tmp_path / 'panoptic_train2017.json'
    write_panoptic_json(ann_file)
    config = write_config(
        tmp_path,
        model_extra=(f",\n    vocabulary=dict(ann_file={str(ann_file)!r}, name='tiny_coco'),\n"
                     f"    text_embeddings=dict(cache_dir={str(tmp_path / 'model_cache')!r})"))
    written = Path(gen_cls.main([str(config)]))
    assert written == tmp_path / 'model_cache' / 'convnext_gen_cls_test_tiny_coco.pth'
    assert torch.load(written,
                      weights_only=True)['class_names'] == ['person', 'car', 'sky-other-merged']


def test_classes_from_the_training_dataset(gen_cls, tmp_path):
    write_panoptic_json(tmp_path / 'panoptic_train2017.json')
    config = write_config(
        tmp_path, f'''
from seg.datasets import CocoPanopticDataset
train_dataloader = dict(dataset=dict(type=CocoPanopticDataset, data_root={str(tmp_path)!r},
                                     ann_file='panoptic_train2017.json', dataset_name='TinyPan'))
''')
    written = Path(gen_cls.main([str(config), '--cache-dir', str(tmp_path)]))
    assert written.name == 'convnext_gen_cls_test_TinyPan.pth'
    assert load_text_embeddings(written, class_names=['person', 'car',
                                                      'sky-other-merged']).shape == (3, 1, 16)


def test_config_without_classes_is_refused(gen_cls, tmp_path):
    with pytest.raises(KeyError, match='class names are unknown'):
        gen_cls.main([str(write_config(tmp_path)), '--cache-dir', str(tmp_path)])


def test_command_line_run(tmp_path):
    config = write_config(tmp_path, "CLASSES = ['cat']\nDATASET_NAME = 'Cli'\n")
    result = subprocess.run([
        sys.executable,
        str(GEN_CLS),
        str(config), '--cache-dir',
        str(tmp_path), '--device', 'cpu'
    ],
                            capture_output=True,
                            text=True,
                            cwd=REPO_ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    expected = tmp_path / 'convnext_gen_cls_test_Cli.pth'
    assert str(expected) in result.stdout and '14/14' in result.stdout
    assert load_text_embeddings(expected, class_names=['cat']).shape == (1, 1, 16)
