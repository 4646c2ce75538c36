"""Inputs from the wild through ``Predictor`` and the demos (issue 19): the image files users
bring (greyscale, RGBA, palette, 16-bit, EXIF-rotated JPEG), tiny and huge images, damaged
videos and non-image files. Each gives a correct result (compared with what Pillow shows for
the same file) or a clear error naming the file. All inputs are made on the fly."""
import copy
import importlib.util
import io
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image, ImageOps

from seg.apis import Predictor, load_image, read_video
from seg.apis import inputs as inputs_module
from seg.apis.inputs import VideoEndsEarlyWarning
from seg.registry import MODELS

REPO_ROOT = Path(__file__).resolve().parents[2]
HEIGHT, WIDTH = 30, 44


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_tool', REPO_ROOT / 'tools' /
                                                  f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def predictor(tiny_cfg):
    torch.manual_seed(0)
    cfg = copy.deepcopy(tiny_cfg)
    cfg['data_preprocessor']['type'] = 'VideoSegDataPreprocessor'
    cfg['video_cfg'] = dict(clip_size=2, clip_size_small=2)
    return Predictor.from_config(dict(model=cfg, test_pipeline=[
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=(48, 48), keep_ratio=True),
        dict(type='PackSegInputs')]), device='cpu')


def _picture(height=HEIGHT, width=WIDTH, seed=0) -> np.ndarray:
    """RGB uint8 with flat blocks (survive JPEG) and a bit of texture."""
    rng = np.random.RandomState(seed)
    image = np.full((height, width, 3), 80, np.uint8)
    image[:height // 2, :width // 3] = (230, 30, 30)
    image[height // 2:, 2 * width // 3:] = (30, 30, 230)
    return np.clip(image + rng.randint(0, 12, image.shape), 0, 255).astype(np.uint8)


def _pil_view(path: Path) -> np.ndarray:
    """What an image viewer shows: EXIF orientation applied, RGB."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert('RGB'))


def _same_result(predictor, path: Path, expected_rgb: np.ndarray) -> None:
    """The file goes through the model exactly like the picture users see."""
    from_file = predictor.predict(str(path), task='all')
    from_view = predictor.predict(expected_rgb, task='all')
    assert from_file.image_size == expected_rgb.shape[:2]
    assert np.array_equal(from_file.panoptic, from_view.panoptic)
    assert np.array_equal(from_file.semantic, from_view.semantic)
    np.testing.assert_allclose(from_file.instances.scores, from_view.instances.scores)


# ---------------------------------------------------------------- image kinds
def _write(kind: str, folder: Path) -> Path:
    rgb = _picture()
    if kind == 'grey':
        Image.fromarray(rgb[..., 0]).save(folder / 'grey.png')
        return folder / 'grey.png'
    if kind == 'rgba':
        alpha = np.full(rgb.shape[:2], 128, np.uint8)
        alpha[:5] = 0
        Image.fromarray(np.dstack([rgb, alpha]), 'RGBA').save(folder / 'rgba.png')
        return folder / 'rgba.png'
    if kind == 'palette':
        Image.fromarray(rgb).quantize(16).save(folder / 'palette.png')
        return folder / 'palette.png'
    if kind == 'grey16':
        values = rgb[..., 1].astype(np.uint16) * 257 + 100
        cv2.imwrite(str(folder / 'grey16.png'), values)
        return folder / 'grey16.png'
    if kind == 'rgb16':
        cv2.imwrite(str(folder / 'rgb16.png'), rgb[..., ::-1].astype(np.uint16) * 257)
        return folder / 'rgb16.png'
    if kind == '1bit':
        Image.fromarray(rgb[..., 0] > 100).save(folder / 'bw.png')
        return folder / 'bw.png'
    raise AssertionError(kind)


@pytest.mark.parametrize('kind', ['grey', 'rgba', 'palette', 'grey16', 'rgb16', '1bit'])
def test_image_file_kinds_give_the_picture_users_see(predictor, tmp_path, kind):
    path = _write(kind, tmp_path)
    seen = _pil_view(path) if '16' not in kind else None
    if kind == 'grey16':   # Pillow's 'I;16' -> 'RGB' clips; the viewer shows value >> 8
        grey = (cv2.imread(str(path), cv2.IMREAD_UNCHANGED) >> 8).astype(np.uint8)
        seen = np.repeat(grey[..., None], 3, axis=2)
    if kind == 'rgb16':
        seen = (cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1] >> 8).astype(np.uint8)
    assert np.array_equal(load_image(path)[..., ::-1], seen)
    _same_result(predictor, path, seen)


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    stored = _picture()
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f'exif{orientation}.jpg'
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)
    ours = load_image(path)[..., ::-1]
    seen = _pil_view(path)
    assert ours.shape == seen.shape
    assert ours.shape[:2] == ((WIDTH, HEIGHT) if orientation >= 5 else (HEIGHT, WIDTH))
    assert np.abs(ours.astype(int) - seen).max() <= 2   # two JPEG decoders


def test_exif_rotated_jpeg_through_the_predictor(predictor, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6   # rotate 90 degrees clockwise to display
    path = tmp_path / 'phone.jpg'
    Image.fromarray(_picture()).save(path, exif=exif.tobytes(), quality=95)
    result = predictor.predict(str(path), task='panoptic')
    assert result.panoptic.shape == (WIDTH, HEIGHT)
    _same_result(predictor, path, load_image(path)[..., ::-1].copy())


@pytest.mark.parametrize('mode', ['L', 'LA', 'RGBA', 'P', 'I;16', 'CMYK', '1'])
def test_pil_images_are_accepted(predictor, mode):
    rgb = Image.fromarray(_picture())
    if mode == 'I;16':
        image = Image.fromarray(np.asarray(rgb.convert('L')).astype(np.uint16) * 257)
        assert image.mode == 'I;16'
        expected = np.repeat(np.asarray(rgb.convert('L'))[..., None], 3, axis=2)
    else:
        image = rgb.convert(mode)
        expected = np.asarray(image.convert('RGB'))
    assert np.array_equal(load_image(image)[..., ::-1], expected)
    assert predictor.predict(image).panoptic.shape == (HEIGHT, WIDTH)


def test_pil_image_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 8
    buffer = io.BytesIO()
    Image.fromarray(_picture()).save(buffer, 'JPEG', exif=exif.tobytes())
    with Image.open(buffer) as image:
        assert load_image(image).shape == (WIDTH, HEIGHT, 3)


@pytest.mark.parametrize('shape, dtype', [((HEIGHT, WIDTH), np.uint8),
                                          ((HEIGHT, WIDTH, 1), np.uint8),
                                          ((HEIGHT, WIDTH, 4), np.uint8),
                                          ((HEIGHT, WIDTH, 3), np.uint16)])
def test_array_kinds(predictor, shape, dtype):
    rng = np.random.RandomState(1)
    array = rng.randint(0, np.iinfo(dtype).max, shape).astype(dtype)
    bgr = load_image(array, 'RGB')
    eight = (array >> 8).astype(np.uint8) if dtype == np.uint16 else array
    if eight.ndim == 2 or eight.shape[2] == 1:
        expected = np.repeat(eight.reshape(HEIGHT, WIDTH, 1), 3, axis=2)
    else:
        expected = eight[..., 2::-1]
    assert np.array_equal(bgr, expected)
    assert predictor.predict(array).panoptic.shape == (HEIGHT, WIDTH)


@pytest.mark.parametrize('array, message', [
    (np.zeros((4, 4, 3), np.float32), 'dtype float32 is not supported'),
    (np.zeros((4, 4), bool), 'dtype bool is not supported'),
    (np.zeros((4, 4, 2), np.uint8), r'shape \(4, 4, 2\) is not an image'),
    (np.zeros((2, 4, 4, 3), np.uint8), r'shape \(2, 4, 4, 3\) is not an image'),
    (np.zeros((0, 4, 3), np.uint8), 'is empty'),
])
def test_bad_arrays_are_refused(predictor, array, message):
    with pytest.raises(ValueError, match=message):
        predictor.predict(array)


# ---------------------------------------------------------------- sizes
@pytest.mark.parametrize('size', [(1, 1), (8, 8), (1, 200), (200, 3)])
def test_tiny_and_thin_images(predictor, tmp_path, size):
    rgb = _picture(*size)
    path = tmp_path / 'tiny.png'
    Image.fromarray(rgb).save(path)
    result = predictor.predict(str(path), task='all')
    assert result.panoptic.shape == size and result.semantic.shape == size
    assert result.instances.masks.shape[1:] == size


def test_huge_image_file_is_refused_before_decoding(predictor, tmp_path, monkeypatch):
    path = tmp_path / 'huge.png'
    Image.new('1', (8000, 6000)).save(path)   # a real 8000x6000 file, 6 MB to make

    def no_decoding(*args, **kwargs):
        raise AssertionError('the huge image was decoded')
    monkeypatch.setattr(inputs_module, 'read_image_file', no_decoding)
    with pytest.raises(ValueError, match=rf'image {path} is 8000x6000 = 48.0 MP, more than the '
                                         r'limit of 25 MP'):
        predictor.predict(str(path))
    with pytest.raises(ValueError, match='8000x6000'):
        predictor.predict(np.zeros((6000, 8000, 3), np.uint8))   # never touched: no pages
    with pytest.raises(ValueError, match='PIL image is 8000x6000'):
        predictor.predict(Image.new('L', (8000, 6000)))


def test_the_pixel_limit_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / 'wide.png'
    Image.fromarray(_picture(20, 50)).save(path)
    assert load_image(path, max_pixels=1000).shape == (20, 50, 3)
    with pytest.raises(ValueError, match='50x20 = 0.0 MP, more than the limit of 0.000999 MP'):
        load_image(path, max_pixels=999)
    monkeypatch.setattr(inputs_module, 'MAX_IMAGE_PIXELS', 999)
    with pytest.raises(ValueError, match='wide.png is 50x20'):
        load_image(path)
    monkeypatch.setenv(inputs_module.MAX_PIXELS_ENV, 'lots')
    with pytest.raises(ValueError, match="OMGSEG_MAX_IMAGE_PIXELS='lots' is not an integer"):
        inputs_module._default_max_pixels()
    monkeypatch.setenv(inputs_module.MAX_PIXELS_ENV, '123')
    assert inputs_module._default_max_pixels() == 123


# ---------------------------------------------------------------- not images
@pytest.mark.parametrize('name, content, message', [
    ('notes.jpg', b'these are my notes\n', 'cannot decode image file .*notes.jpg'),
    ('empty.png', b'', r'cannot decode image file .*empty.png \(0 bytes\)'),
    ('cut.png', None, 'cannot decode image file .*cut.png'),
    ('doc.pdf', b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'doc.pdf'),
])
def test_non_image_files_give_clear_errors(predictor, tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:   # a PNG cut in the middle of its pixel data
        Image.fromarray(_picture()).save(path)
        content = path.read_bytes()[:60]
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        predictor.predict(str(path))


def test_missing_file_and_folder(predictor, tmp_path):
    with pytest.raises(FileNotFoundError, match='image file not found: .*nothing.png'):
        predictor.predict(str(tmp_path / 'nothing.png'))
    with pytest.raises(ValueError, match='is a folder, not an image file'):
        predictor.predict(str(tmp_path))
    with pytest.raises(TypeError, match='got list'):
        predictor.predict([[1, 2, 3]])


# ---------------------------------------------------------------- videos
def _write_video(path: Path, num_frames: int, size=(HEIGHT, WIDTH)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 5, size[::-1])
    assert writer.isOpened()
    for index in range(num_frames):
        writer.write(_picture(*size, seed=index)[..., ::-1].copy())
    writer.release()


def test_video_that_ends_early_gives_its_frames_with_a_warning(predictor, tmp_path):
    full = tmp_path / 'full.avi'
    _write_video(full, 10)
    cut = tmp_path / 'cut.avi'
    cut.write_bytes(full.read_bytes()[:full.stat().st_size * 4 // 5])
    with pytest.warns(VideoEndsEarlyWarning, match=r'cut.avi ends early: its header declares 10 '
                                                   r'frames, only 6 could be read .* using the '
                                                   r'first 5 \(the last one read may be '
                                                   r'incomplete\)'):
        frames = read_video(cut)
    assert len(frames) == 5   # the 6th is half decoded by OpenCV: dropped
    whole = read_video(full)
    assert all(np.array_equal(a, b) for a, b in zip(frames, whole))
    for fraction, complete in ((0.7, 2), (0.95, 8)):
        cut.write_bytes(full.read_bytes()[:int(full.stat().st_size * fraction)])
        with pytest.warns(VideoEndsEarlyWarning):
            frames = read_video(cut)
        assert len(frames) == complete
        assert all(np.array_equal(a, b) for a, b in zip(frames, whole))
    cut.write_bytes(full.read_bytes()[:full.stat().st_size // 2])
    with pytest.raises(ValueError, match=r'cannot open video file .*cut.avi \(\d+ bytes\)'):
        read_video(cut)
    cut.write_bytes(full.read_bytes()[:full.stat().st_size * 4 // 5])
    with pytest.warns(VideoEndsEarlyWarning):
        result = predictor.predict_video(str(cut))
    assert len(result.frames) == 5
    assert result.frames[0].panoptic.shape == (HEIGHT, WIDTH)


def test_max_frames_reads_only_the_start(tmp_path):
    path = tmp_path / 'clip.avi'
    _write_video(path, 6)
    assert len(read_video(path, max_frames=2)) == 2   # no warning: 2 were asked for


def test_video_file_with_frames_of_varying_size(predictor, tmp_path):
    """A motion-JPEG stream whose frames change size: OpenCV scales them to the stream size."""
    path = tmp_path / 'varying.mjpeg'
    with open(path, 'wb') as handle:
        for index, size in enumerate([(HEIGHT, WIDTH)] * 2 + [(40, 40)] * 2):
            handle.write(cv2.imencode('.jpg', _picture(*size, seed=index))[1].tobytes())
    frames = read_video(path)
    assert [frame.shape for frame in frames] == [(HEIGHT, WIDTH, 3)] * 4
    result = predictor.predict_video(str(path))
    assert [frame.panoptic.shape for frame in result.frames] == [(HEIGHT, WIDTH)] * 4


def test_frame_folder_with_varying_sizes_names_the_frame(predictor, tmp_path):
    for index, size in enumerate([(HEIGHT, WIDTH), (HEIGHT, WIDTH), (HEIGHT + 2, WIDTH)]):
        Image.fromarray(_picture(*size)).save(tmp_path / f'{index:03d}.png')
    with pytest.raises(ValueError, match=r'frame .*002.png has size \(32, 44\), the first frame '
                                         r'000.png \(30, 44\)'):
        predictor.predict_video(str(tmp_path))
    with pytest.raises(ValueError, match=r'frame 1 has size \(32, 44\), frame 0 \(30, 44\)'):
        predictor.predict_video([_picture(), _picture(HEIGHT + 2, WIDTH)])


@pytest.mark.parametrize('content, message', [
    (b'not a video at all', 'cannot open video file .*bad.mp4 \\(18 bytes\\)'),
    (b'', 'cannot open video file .*bad.mp4 \\(0 bytes\\)'),
])
def test_non_video_files_give_clear_errors(predictor, tmp_path, content, message):
    path = tmp_path / 'bad.mp4'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        predictor.predict_video(str(path))


def test_mp4_cut_before_its_index(predictor, tmp_path):
    full = tmp_path / 'full.mp4'
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*'mp4v'), 5, (WIDTH, HEIGHT))
    if not writer.isOpened():
        pytest.fail('OpenCV of this environment cannot write mp4v (needed for this test)')
    for index in range(4):
        writer.write(_picture(seed=index))
    writer.release()
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(full.read_bytes()[:full.stat().st_size * 4 // 5])
    with pytest.raises(ValueError, match='cannot open video file .*cut.mp4.*cut before its '
                                         'index'):
        predictor.predict_video(str(cut))


# ---------------------------------------------------------------- demos
@pytest.fixture
def demo_files(tiny_cfg, tmp_path):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['data_preprocessor']['type'] = 'VideoSegDataPreprocessor'
    cfg['video_cfg'] = dict(clip_size=2, clip_size_small=2)
    Config(dict(model=cfg)).dump(str(tmp_path / 'tiny.py'))
    torch.manual_seed(0)
    torch.save(dict(state_dict=MODELS.build(cfg).state_dict()), tmp_path / 'model.pth')
    return [str(tmp_path / 'tiny.py'), str(tmp_path / 'model.pth')]


def test_demo_image_reports_bad_files_and_goes_on(demo_files, tmp_path, capsys):
    images = tmp_path / 'images'
    images.mkdir()
    Image.fromarray(_picture()).convert('P').save(images / 'a_palette.png')
    (images / 'b_notes.jpg').write_text('not an image')
    Image.new('1', (8000, 6000)).save(images / 'c_huge.png')
    out = tmp_path / 'out'
    assert load_tool('demo_image').run([*demo_files, str(images), '--out-dir', str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith('error: cannot decode image file ') and 'b_notes.jpg' in err[0]
    assert err[1].startswith('error: image ') and 'c_huge.png is 8000x6000' in err[1]
    assert err[2] == '2 of 3 image(s) could not be read'
    assert (out / 'a_palette_panoptic.png').is_file()
    assert load_tool('demo_image').run([*demo_files, str(tmp_path / 'nothing.png'),
                                        '--out-dir', str(out)]) == 2
    assert capsys.readouterr().err.startswith('error: image or folder not found')


def test_demo_video_on_a_cut_and_a_non_video(demo_files, tmp_path, capsys):
    full = tmp_path / 'full.avi'
    _write_video(full, 6)
    cut = tmp_path / 'cut.avi'
    cut.write_bytes(full.read_bytes()[:full.stat().st_size * 4 // 5])
    tool = load_tool('demo_video')
    with pytest.warns(VideoEndsEarlyWarning):
        assert tool.run([*demo_files, str(cut), '--out-dir', str(tmp_path / 'out')]) == 0
    assert 'frames ->' in capsys.readouterr().out
    bad = tmp_path / 'bad.mp4'
    bad.write_text('hello')
    assert tool.run([*demo_files, str(bad), '--out-dir', str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and err.startswith('error: cannot open video file')
