"""Video command lines: toy video data, the YouTube-VIS converter and the video demo."""
import copy
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from seg.registry import MODELS

REPO = Path(__file__).resolve().parents[2]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name.replace('/', '_'),
                                                  REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def single_thread():
    """Tiny models run fastest on one thread when other processes share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def toy_video(tmp_path_factory):
    out = tmp_path_factory.mktemp('toy_video_cli') / 'toy'
    tool = load_tool('make_toy_data')
    assert tool.main(['--video', '--out', str(out), '--num-train', '1', '--num-val', '1']) == 0
    return out


def test_make_toy_data_video_flag_writes_three_layouts(toy_video, capsys):
    defaults = load_tool('make_toy_data').parse_args(['--video'])
    assert (defaults.out, defaults.num_train, defaults.num_val) == ('data/toy_video', 48, 8)
    assert (toy_video / 'vipseg' / 'val.txt').read_text().split() == ['val_0000']
    assert (toy_video / 'davis' / 'ImageSets' / '2017' / 'train.txt').is_file()
    valid = json.loads((toy_video / 'ytvis' / 'valid.json').read_text())
    names = valid['videos'][0]['file_names']
    assert all((toy_video / 'ytvis' / 'valid' / 'JPEGImages' / name).is_file()
               for name in names)
    assert (toy_video / 'ytvis' / 'annotations' / 'youtube_vis_2019_valid.json').is_file()


def test_vis_to_coco_converts_the_splits_present(toy_video, tmp_path, capsys):
    tool = load_tool('dataset_converters/vis_to_coco')
    root = toy_video / 'ytvis'
    assert tool.main(['-i', str(root), '--version', '2019', '-o', str(tmp_path)]) == 0
    converted = json.loads((tmp_path / 'youtube_vis_2019_train.json').read_text())
    expected = json.loads((root / 'annotations' / 'youtube_vis_2019_train.json').read_text())
    assert converted == expected
    assert 'valid: 1 videos' in capsys.readouterr().out
    assert tool.main(['-i', str(tmp_path / 'none'), '--version', '2021']) == 1
    assert 'instances.json' in capsys.readouterr().err


def test_demo_video_writes_overlays_and_an_animation(toy_video, tmp_path, tiny_cfg,
                                                     single_thread):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['data_preprocessor']['type'] = 'VideoSegDataPreprocessor'
    cfg['vocabulary'] = dict(name='toy_video_demo', thing_classes=['ball', 'box', 'tent'],
                             stuff_classes=['sky', 'grass'])
    cfg['video_cfg'] = dict(clip_size=2, clip_size_small=2, vos_on=True)
    Config(dict(model=cfg)).dump(str(tmp_path / 'config.py'))
    torch.manual_seed(0)
    torch.save(MODELS.build(cfg).state_dict(), tmp_path / 'model.pth')
    frames = toy_video / 'vipseg' / 'imgs' / 'val_0000'
    tool = load_tool('demo_video')
    out = tmp_path / 'demo'
    assert tool.main([str(tmp_path / 'config.py'), str(tmp_path / 'model.pth'), str(frames),
                      '--out-dir', str(out), '--max-frames', '4']) == 0
    assert len(list((out / 'frames').glob('*.png'))) == 4
    with Image.open(out / 'val_0000_panoptic.gif') as animation:
        assert animation.n_frames == 4
    first = toy_video / 'davis' / 'Annotations' / '480p' / 'val_0000' / '00000.png'
    assert tool.main([str(tmp_path / 'config.py'), str(tmp_path / 'model.pth'), str(frames),
                      '--out-dir', str(out), '--max-frames', '3',
                      '--first-frame-masks', str(first)]) == 0
    with Image.open(out / 'val_0000_vos.gif') as animation:
        assert animation.n_frames == 3
    empty = tmp_path / 'empty.png'
    Image.fromarray(np.zeros((64, 96), np.uint8), mode='L').save(empty)
    with pytest.raises(ValueError, match='holds no object'):
        tool.main([str(tmp_path / 'config.py'), str(tmp_path / 'model.pth'), str(frames),
                   '--out-dir', str(out), '--first-frame-masks', str(empty)])


def test_vipseg_720p_copy_keeps_codes_and_aspect_ratio(tmp_path, capsys):
    import cv2
    src = tmp_path / 'VIPSeg'
    (src / 'imgs' / 'v').mkdir(parents=True)
    (src / 'panomasks' / 'v').mkdir(parents=True)
    codes = np.full((36, 64), 3, np.uint16)
    codes[:, 32:] = 6101
    cv2.imwrite(str(src / 'panomasks' / 'v' / '0.png'), codes)
    cv2.imwrite(str(src / 'imgs' / 'v' / '0.jpg'), np.zeros((36, 64, 3), np.uint8))
    (src / 'val.txt').write_text('v\n')
    tool = load_tool('dataset_converters/vipseg_to_720p')
    assert tool.main(['--src', str(src), '--dst', str(tmp_path / 'out')]) == 0
    resized = cv2.imread(str(tmp_path / 'out' / 'panomasks' / 'v' / '0.png'),
                         cv2.IMREAD_UNCHANGED)
    assert resized.shape == (720, 1280) and set(np.unique(resized)) == {3, 6101}
    assert cv2.imread(str(tmp_path / 'out' / 'imgs' / 'v' / '0.jpg')).shape == (720, 1280, 3)
    assert (tmp_path / 'out' / 'val.txt').read_text() == 'v\n'
    assert tool.main(['--src', str(tmp_path / 'missing'), '--dst', str(tmp_path)]) == 1


def test_video_memory_reports_peaks_per_length(tmp_path, tiny_cfg, single_thread, capsys):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['data_preprocessor']['type'] = 'VideoSegDataPreprocessor'
    cfg['video_cfg'] = dict(clip_size=2, clip_size_small=2)
    Config(dict(model=cfg)).dump(str(tmp_path / 'config.py'))
    tool = load_tool('video_memory')
    assert tool.main([str(tmp_path / 'config.py'), '--frames', '3', '6', '--size', '32',
                      '32']) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if 'peak tensor memory' in line]
    assert [line.split()[0] for line in lines] == ['3', '6']
