"""The catalogue of inputs users get wrong: each fails early with an error naming the file, key
or value (the issue note lists these messages)."""
import copy
import json
import shutil
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from seg.datasets import CocoPanopticDataset
from seg.datasets.skip_bad_samples import SkipBadSamplesDataset
from seg.engine import CheckpointCompatibilityHook
from seg.engine.runner_setup import build_runner
from seg.models import build_segmentor
from seg.registry import MODELS
from seg.structures import SegDataSample
from seg.structures.panoptic_io import read_panoptic_png, write_panoptic_png
from seg.vocab.text_embeddings import save_text_embeddings

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadPanopticAnnotations'),
            dict(type='PackSegInputs')]


@pytest.fixture
def data_copy(toy_data_root, tmp_path) -> Path:
    return Path(shutil.copytree(toy_data_root, tmp_path / 'toy'))


def load_json(root: Path) -> dict:
    return json.loads((root / 'annotations' / 'panoptic_train2017.json').read_text())


def save_json(root: Path, content: dict) -> None:
    (root / 'annotations' / 'panoptic_train2017.json').write_text(json.dumps(content))


def dataset(root: Path, test_mode: bool = True, pipeline=PIPELINE) -> CocoPanopticDataset:
    return CocoPanopticDataset(
        data_root=str(root), ann_file='annotations/panoptic_train2017.json',
        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'),
        pipeline=pipeline, test_mode=test_mode, filter_cfg=None)


def first_image(root: Path) -> Path:
    return sorted((root / 'train2017').iterdir())[0]


def first_png(root: Path) -> Path:
    return sorted((root / 'annotations' / 'panoptic_train2017').iterdir())[0]


def truncate(path: Path, keep: float = None, drop: int = 0) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)] if keep is not None else data[:-drop])


def png_id_not_in_json(root: Path) -> None:
    content = load_json(root)
    content['annotations'][0]['segments_info'].pop()
    save_json(root, content)


def png_of_other_size(root: Path) -> None:
    ids = read_panoptic_png(first_png(root))
    write_panoptic_png(first_png(root), ids[:-3])


def json_size_differs(root: Path) -> None:
    content = load_json(root)
    content['images'][0]['height'] += 5
    save_json(root, content)


SAMPLE_CASES = {
    'truncated JPEG (last 2 bytes cut)': (lambda root: truncate(first_image(root), drop=2),
                                          ValueError, r'cannot decode image file .*/000000000001'
                                                      r'\.jpg \(\d+ bytes\): empty, truncated'),
    'truncated JPEG (60 % kept)': (lambda root: truncate(first_image(root), keep=0.6),
                                   ValueError, r'cannot decode image file .*000000000001\.jpg'),
    'zero-byte image': (lambda root: first_image(root).write_bytes(b''),
                        ValueError, r'000000000001\.jpg \(0 bytes\): empty, truncated or not'),
    'missing image': (lambda root: first_image(root).unlink(),
                      FileNotFoundError, r'image file not found: .*000000000001\.jpg'),
    'text file named .jpg': (lambda root: first_image(root).write_text('not an image'),
                             ValueError, r'cannot decode image file .*000000000001\.jpg'),
    'truncated panoptic PNG': (lambda root: truncate(first_png(root), keep=0.5),
                               ValueError, r'cannot decode image file .*000000000001\.png'),
    'PNG segment id absent from the json': (
        png_id_not_in_json, ValueError,
        r'panoptic PNG .*000000000001\.png contains segment id\(s\) \[\d+\] absent from its '
        r'segments_info'),
    'PNG of another size than the image': (
        png_of_other_size, ValueError,
        r'panoptic PNG .*000000000001\.png has size \(\d+, \d+\) but image .*000000000001\.jpg '
        r'has size'),
    'json height/width differ from the image': (
        json_size_differs, ValueError,
        r'image .*000000000001\.jpg has size \(\d+, \d+\) but its annotation says'),
}


@pytest.mark.parametrize('corrupt, error, message', SAMPLE_CASES.values(), ids=SAMPLE_CASES)
def test_bad_sample_fails_naming_the_file(data_copy, corrupt, error, message):
    corrupt(data_copy)
    with pytest.raises(error, match=message):
        dataset(data_copy)[0]


def test_category_id_out_of_range_fails_when_the_dataset_is_built(data_copy):
    content = load_json(data_copy)
    content['annotations'][0]['segments_info'][0]['category_id'] = 999
    save_json(data_copy, content)
    with pytest.raises(KeyError, match=r'panoptic_train2017\.json: annotations\[0\]\.'
                                       r'segments_info\[0\] has category_id 999, which is not '
                                       r'in "categories"'):
        dataset(data_copy)


def test_masks_of_the_wrong_size_are_refused_by_the_model_input(tiny_cfg):
    preprocessor = MODELS.build(tiny_cfg['data_preprocessor'])
    sample = SegDataSample(metainfo=dict(img_path='data/x.jpg'))
    from mmengine.structures import InstanceData
    sample.gt_instances = InstanceData(labels=torch.tensor([0]),
                                       masks=torch.zeros(1, 30, 40, dtype=torch.bool))
    with pytest.raises(ValueError, match=r'gt_instances.masks of data/x.jpg has size \(30, 40\) '
                                         r'but its image has \(32, 32\)'):
        preprocessor(dict(inputs=[torch.zeros(3, 32, 32, dtype=torch.uint8)],
                          data_samples=[sample]), training=True)


def test_text_embedding_file_with_another_class_count(tiny_cfg, tmp_path):
    embeddings = torch.nn.functional.normalize(torch.randn(3, 1, 32), dim=-1)
    path = save_text_embeddings(tmp_path / 'three.pth', embeddings, ['a', 'b', 'c'], None)
    cfg = copy.deepcopy(tiny_cfg)
    cfg['text_embeddings'] = dict(file=str(path), generate_if_missing=False)
    with pytest.raises(ValueError, match=r'text-embedding file .*three\.pth holds 3 classes, the '
                                         r'model expects 7; regenerate it with: python '
                                         r'tools/gen_cls\.py'):
        build_segmentor(cfg)


def test_unknown_constructor_argument_names_component_and_key(tiny_cfg):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['panoptic_head']['num_querie'] = 4
    with pytest.raises(TypeError, match="OMGHead.__init__.. got an unexpected keyword argument "
                                        "'num_querie'"):
        build_segmentor(cfg)


def test_checkpoint_that_does_not_fit_the_model(tmp_path, toy_data_root, toy_runner_cfg):
    runner = build_runner(toy_runner_cfg(tmp_path / 'work', toy_data_root))
    state = runner.model.state_dict()

    def load(name: str, content: dict):
        path = tmp_path / name
        torch.save(content, path)
        runner.cfg.load_from = str(path)
        return runner.load_checkpoint(str(path))

    with pytest.raises(KeyError, match=r'checkpoint .*other_model\.pth does not fit the model '
                                       r'OMGSegmentor at all .* 0 tensors match; \d+ missing '
                                       r'from the checkpoint: backbone\.'):
        load('other_model.pth', {'state_dict': torch.nn.Linear(2, 2).state_dict()})

    changed = dict(state)
    changed['panoptic_head.query_feat.weight'] = torch.zeros(3, 32)
    del changed['panoptic_head.query_embed.weight']
    changed['extra.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match=r'does not fit the model OMGSegmentor: \d+ tensors match; '
                                       r'1 missing from the checkpoint: panoptic_head\.query_embed'
                                       r'\.weight; 1 unexpected in the checkpoint: extra\.weight; '
                                       r'1 with another shape: panoptic_head\.query_feat\.weight '
                                       r'\(checkpoint \(3, 32\), model \(8, 32\)\)'):
        load('changed.pth', {'state_dict': changed})
    assert torch.equal(runner.model.state_dict()['panoptic_head.query_feat.weight'],
                       state['panoptic_head.query_feat.weight'])  # nothing was copied

    # A DDP checkpoint ('module.' prefix) of the same model fits exactly.
    load('ddp.pth', {'state_dict': {f'module.{key}': value for key, value in state.items()}})

    # Partial loading on purpose: strict=False warns, ignore_keys exempts keys.
    lenient = CheckpointCompatibilityHook(strict=False)
    lenient.after_load_checkpoint(runner, {'state_dict': changed})
    with pytest.raises(KeyError, match='at all'):
        lenient.after_load_checkpoint(runner, {'state_dict': {'x': torch.zeros(1)}})
    CheckpointCompatibilityHook(ignore_keys=[r'^panoptic_head\.query_', r'^extra\.']) \
        .after_load_checkpoint(runner, {'state_dict': changed})


def test_skip_bad_samples_is_off_by_default_and_counts_every_skip(data_copy):
    first_image(data_copy).write_bytes(b'')
    with pytest.raises(ValueError, match=r'000000000001\.jpg \(0 bytes\)'):
        dataset(data_copy, test_mode=False)[0]

    wrapped = SkipBadSamplesDataset(dataset(data_copy, test_mode=False))
    assert wrapped[0]['data_samples'].img_path.endswith('000000000002.jpg')
    assert wrapped.num_skipped == 1
    assert wrapped.skipped[0]['img_path'].endswith('000000000001.jpg')
    assert 'ValueError: cannot decode image file' in wrapped.skipped[0]['error']

    # Data-loader workers add to one shared count; every sample is served once per epoch.
    loader = DataLoader(wrapped, batch_size=2, num_workers=2, collate_fn=list)
    served = [item['data_samples'].img_path for batch in loader for item in batch]
    assert len(served) == len(wrapped)
    assert wrapped.num_skipped == 2


def test_skip_bad_samples_limits(data_copy):
    for image in sorted((data_copy / 'train2017').iterdir())[:2]:
        image.write_bytes(b'')
    with pytest.raises(RuntimeError, match=r'2 bad samples exceed max_skips=1; the last one was '
                                           r'sample 1 \(.*000000000002\.jpg\)'):
        SkipBadSamplesDataset(dataset(data_copy, test_mode=False), max_skips=1)[0]
    with pytest.raises(ValueError, match='for training data only'):
        SkipBadSamplesDataset(dataset(data_copy, test_mode=True))
