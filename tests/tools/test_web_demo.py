"""The web demo (tools/web_demo.py, seg/apis/web_demo/) driven in a real headless browser.

Chromium and chromedriver come from Debian's ``chromium`` / ``chromium-driver`` packages
(installed by .ci/run), driven by Selenium; nothing is downloaded at run time. Without them the
browser tests are skipped locally and FAIL when ``CI`` is set.

The server runs in this process on a free loopback port with a tiny random model (prompt
parameters on). To take the README's screenshots with a trained model instead:

    OMGSEG_WEB_DEMO_CONFIG=configs/toy/omg_toy_interactive.py \
    OMGSEG_WEB_DEMO_CHECKPOINT=work_dirs/webdemo_toy/iter_2000.pth \
    OMGSEG_WEB_DEMO_IMAGE=data/toy_coco/val2017/000001000003.jpg \
    OMGSEG_WEB_DEMO_SCREENSHOTS=docs/images python -m pytest -q tests/tools/test_web_demo.py

Screenshots are written to $OMGSEG_WEB_DEMO_SCREENSHOTS (default: a temporary folder).
"""
import base64
import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from seg.apis import Predictor
from seg.apis.web_demo import DemoApp, DemoLimits, make_server
from seg.apis.web_demo.cli import parse_args
from ..conftest import tiny_model_cfg

REPO_ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get('CI', '').strip().lower() not in ('', '0', 'false', 'no')
TIMEOUT = 60


# ---------------------------------------------------------------------------- fixtures
def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f'{message}: CI=true, so the browser tests must run (.ci/run installs '
                    'chromium and chromium-driver with apt)', pytrace=False)
    pytest.skip(message)


def _tiny_config(toy_data_root) -> dict:
    # As tests/apis/test_predictor.py builds its predictor: the tiny model with prompt
    # parameters, the test pipeline's Resize.
    cfg = copy.deepcopy(tiny_model_cfg(toy_data_root))
    cfg['prompt_encoder'] = dict(type='PromptEncoder')
    return dict(model=cfg, test_pipeline=[dict(type='LoadImageFromFile'),
                                          dict(type='Resize', scale=(64, 64), keep_ratio=True),
                                          dict(type='PackSegInputs')])


def _build_predictor(toy_data_root):
    """(predictor, description, random weights?): the tiny test model, or the model of
    $OMGSEG_WEB_DEMO_CONFIG / _CHECKPOINT. Deterministic: two calls give the same weights."""
    config = os.environ.get('OMGSEG_WEB_DEMO_CONFIG')
    torch.manual_seed(0)
    if config:
        predictor = Predictor.from_config(config, os.environ['OMGSEG_WEB_DEMO_CHECKPOINT'],
                                          device='cpu')
        return predictor, f'{Path(config).name} · toy-trained · cpu', False
    with warnings.catch_warnings():  # random weights on purpose
        warnings.filterwarnings('ignore', message='.*without a checkpoint')
        predictor = Predictor.from_config(_tiny_config(toy_data_root), device='cpu')
    return predictor, 'tiny test model · random weights · cpu', True


@pytest.fixture(scope='module')
def server(tmp_path_factory, toy_data_root):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('OMGSEG_CACHE', str(tmp_path_factory.mktemp('web_demo_cache')))
        predictor, description, random_weights = _build_predictor(toy_data_root)
        app = DemoApp(predictor, DemoLimits(max_video_frames=12, max_image_side=2048,
                                            max_image_bytes=2 << 20),
                      description=description, random_weights=random_weights)
        demo = make_server(app, '127.0.0.1', 0)
        thread = threading.Thread(target=demo.serve_forever, daemon=True)
        thread.start()
        try:
            yield demo
        finally:
            demo.shutdown()
            demo.server_close()


@pytest.fixture(scope='module')
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        _unavailable('selenium is not installed (pip install -e ".[dev]")')
    chromium = next((shutil.which(name) for name in ('chromium', 'chromium-browser')
                     if shutil.which(name)), None)
    driver_path = shutil.which('chromedriver')
    if chromium is None or driver_path is None:
        _unavailable('chromium / chromedriver not found on PATH (apt-get install chromium '
                     'chromium-driver)')
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                     '--disable-gpu', '--window-size=1280,1200', '--force-device-scale-factor=1',
                     '--disable-extensions', '--no-first-run'):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_script_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope='module')
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get('OMGSEG_WEB_DEMO_SCREENSHOTS')
    return Path(folder) if folder else tmp_path_factory.mktemp('web_demo_screenshots')


@pytest.fixture(scope='module')
def files(tmp_path_factory) -> dict:
    """An image, a 3-frame clip, its frames as PNGs and bad files."""
    folder = tmp_path_factory.mktemp('web_demo_files')
    source = os.environ.get('OMGSEG_WEB_DEMO_IMAGE')
    if source:
        image = cv2.imread(source)
    else:
        rng = np.random.RandomState(0)
        image = np.full((120, 160, 3), 90, dtype=np.uint8)
        image[15:65, 20:90] = (40, 40, 220)
        cv2.circle(image, (120, 85), 25, (40, 200, 60), -1)
        image = np.clip(image + rng.randint(0, 20, image.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(folder / 'scene.png'), image)
    height, width = image.shape[:2]
    frames = [np.roll(image, 3 * index, axis=1) for index in range(3)]
    writer = cv2.VideoWriter(str(folder / 'clip.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    frame_paths = []
    for index, frame in enumerate(frames):
        frame_paths.append(folder / f'frame_{index:03d}.png')
        cv2.imwrite(str(frame_paths[-1]), frame)
    (folder / 'notes.png').write_text('this is text, not an image')
    cv2.imwrite(str(folder / 'huge.png'), np.zeros((4, 3000, 3), dtype=np.uint8))
    (folder / 'broken.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42' + bytes(range(256)) * 8)
    return dict(image=folder / 'scene.png', clip=folder / 'clip.avi', frames=frame_paths,
                text=folder / 'notes.png', huge=folder / 'huge.png',
                broken=folder / 'broken.mp4', size=(height, width))


@pytest.fixture(scope='module')
def page(browser, server):
    browser.get(server.url)
    _wait(browser, lambda d: d.find_element('tag name', 'body').get_attribute('data-ready'),
          'the page did not start')
    return browser


# ---------------------------------------------------------------------------- helpers
def _wait(driver, condition, message: str, timeout: float = TIMEOUT):
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except Exception:
        error = _error_text(driver)
        raise AssertionError(f'{message} (page error: {error or "none"})') from None


def _element(driver, element_id: str):
    return driver.find_element('id', element_id)


def _error_text(driver) -> str:
    banner = _element(driver, 'error')
    return _element(driver, 'error-text').text if banner.is_displayed() else ''


def _idle(driver) -> bool:
    return not _element(driver, 'busy').is_displayed()


def _decode(url: str) -> np.ndarray:
    """RGB array of a data URL or of a URL served by the demo."""
    if url.startswith('data:'):
        data = base64.b64decode(url.split(',', 1)[1])
    else:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            data = response.read()
    return np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))


def _image_of(driver, element_id: str) -> np.ndarray:
    return _decode(_element(driver, element_id).get_attribute('src'))


def _tab(driver, name: str) -> None:
    _element(driver, f'tab-button-{name}').click()
    _wait(driver, lambda d: _element(d, f'tab-{name}').is_displayed(), f'tab {name} not shown')


def _after(driver, element_id: str, action, message: str, attribute: str = 'src') -> None:
    """Run ``action`` and wait until the element's attribute changes and requests end."""
    before = _element(driver, element_id).get_attribute(attribute)
    action()
    _wait(driver, lambda d: (_element(d, element_id).get_attribute(attribute) != before
                             and _idle(d)) or _error_text(d), message)
    assert not _error_text(driver), _error_text(driver)


def _upload(driver, input_id: str, paths) -> None:
    field = _element(driver, input_id)
    driver.execute_script('arguments[0].value = "";', field)
    field.send_keys('\n'.join(str(p) for p in paths))


def _click_image(driver, element_id: str, x: float, y: float, size, drag_to=None) -> None:
    """Click (or drag to ``drag_to``) at image pixel (x, y) of a displayed image."""
    from selenium.webdriver.common.action_chains import ActionChains
    element = _element(driver, element_id)
    driver.execute_script('arguments[0].scrollIntoView({block: "center"});', element)
    rect = element.rect
    height, width = size

    def offset(px, py):
        return (int(round((px + 0.5) * rect['width'] / width - rect['width'] / 2)),
                int(round((py + 0.5) * rect['height'] / height - rect['height'] / 2)))
    actions = ActionChains(driver).move_to_element_with_offset(element, *offset(x, y))
    if drag_to is None:
        actions.click()
    else:
        end = offset(*drag_to)
        start = offset(x, y)
        actions.click_and_hold().move_by_offset((end[0] - start[0]) // 2,
                                                (end[1] - start[1]) // 2)
        actions.move_to_element_with_offset(element, *end).release()
    actions.perform()


def _texts(driver, selector: str):
    return [item.text for item in driver.find_elements('css selector', selector)]


def _vocabulary(driver):
    things = _element(driver, 'things').get_attribute('value').split('\n')
    stuff = _element(driver, 'stuff').get_attribute('value').split('\n')
    return {name.split(',')[0].strip() for name in things + stuff if name.strip()}


def _screenshot(driver, folder: Path, name: str) -> Path:
    """The whole page (beyond the window) as a small PNG: <= 1000 px wide, 256 colours."""
    width, height = driver.execute_script(
        'return [document.documentElement.clientWidth, document.body.scrollHeight];')
    capture = driver.execute_cdp_cmd('Page.captureScreenshot', dict(
        format='png', captureBeyondViewport=True,
        clip=dict(x=0, y=0, width=int(width), height=min(int(height), 2400), scale=1)))
    picture = Image.open(io.BytesIO(base64.b64decode(capture['data']))).convert('RGB')
    scale = min(1.0, 1000 / picture.width)
    if scale < 1:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)),
                                 Image.LANCZOS)
    target = folder / f'web_demo_{name}.png'
    target.parent.mkdir(parents=True, exist_ok=True)
    picture.quantize(colors=256, method=Image.MEDIANCUT).save(target, optimize=True)
    return target


def _load_image(driver, files) -> None:
    _after(driver, 'overlay', lambda: _upload(driver, 'image-file', [files['image']]),
           'the uploaded image was not shown')


def _not_blank(image: np.ndarray) -> None:
    assert image.ndim == 3 and image.shape[0] > 8 and image.shape[1] > 8
    assert float(image.std()) > 5.0, 'the overlay is blank'


def _masked_pixels(overlay: np.ndarray, image: np.ndarray, clicks) -> np.ndarray:
    """Pixels the overlay recolours (the mask), without the click markers."""
    changed = np.abs(overlay.astype(np.int16) - image.astype(np.int16)).max(axis=2) > 12
    radius = 5 * max(1, round(max(image.shape[:2]) / 400)) + 4  # the marker's, and a margin
    for x, y in clicks:
        cv2.circle(changed.view(np.uint8), (int(x), int(y)), radius, 0, -1)
    return changed


# ---------------------------------------------------------------------------- image tests
def test_image_tasks_show_an_overlay_segments_and_downloads(page, server, files, shots):
    driver = page
    assert 'OMG-Seg web demo' in driver.title
    classes = _vocabulary(driver)
    assert classes, 'the vocabulary panel is empty'
    _load_image(driver, files)
    image = _image_of(driver, 'overlay')
    assert image.shape[:2] == files['size']

    threshold = _element(driver, 'score-thr')
    threshold.clear()
    threshold.send_keys('0.05')  # a random model's instance scores are low
    for task in ('instance', 'semantic', 'panoptic'):
        driver.find_element('css selector', f'#task option[value="{task}"]').click()
        _after(driver, 'overlay', lambda: _element(driver, 'run-segment').click(),
               f'no {task} overlay')
        overlay = _image_of(driver, 'overlay')
        _not_blank(overlay)
        # The legend panel sits right of the image; the image part is coloured by masks.
        assert overlay.shape[0] >= image.shape[0] and overlay.shape[1] > image.shape[1]
        left = overlay[:image.shape[0], :image.shape[1]]
        difference = float(np.abs(left.astype(int) - image.astype(int)).mean())
        assert difference > 3, f'{task}: no mask drawn'
        assert _element(driver, 'segments').get_attribute('data-task') == task
        names = _texts(driver, '#segments .segment-class')
        assert set(names) <= classes, (task, names)
        scores = _texts(driver, '#segments .segment-score')
        if task == 'instance':
            assert all(0.05 <= float(score) <= 1.0 for score in scores), scores
        else:
            assert names, f'{task}: no segment listed'
    _screenshot(driver, shots, 'image')

    # Downloads: the COCO panoptic PNG and the segments json of the panoptic result.
    png_url = _element(driver, 'download-png').get_attribute('href')
    json_url = _element(driver, 'download-json').get_attribute('href')
    png = _decode(png_url).astype(np.int64)
    with urllib.request.urlopen(json_url, timeout=TIMEOUT) as response:
        content = json.loads(response.read())
    ids = png[..., 0] + 256 * png[..., 1] + 65536 * png[..., 2]
    assert png.shape[:2] == files['size']
    assert [segment['class_name'] for segment in content['segments']] == names
    for entry in content['segments_info']:
        assert entry['area'] == int((ids == entry['id']).sum())


def test_vocabulary_edits_apply_at_run_time(page, files):
    driver = page
    initial = _vocabulary(driver)
    _load_image(driver, files)
    _after(driver, 'overlay', lambda: _element(driver, 'run-segment').click(), 'no overlay')
    try:
        for element_id, text in (('things', 'zebra\ngiraffe,camelopard'), ('stuff', 'lawn')):
            _element(driver, element_id).clear()
            _element(driver, element_id).send_keys(text)
        # Applying re-runs the segmentation shown, with the new classes.
        _after(driver, 'overlay', lambda: _element(driver, 'apply-vocabulary').click(),
               'the vocabulary change did not re-run the segmentation')
        assert '(applied)' in _element(driver, 'vocabulary-status').text
        names = _texts(driver, '#segments .segment-class')
        assert names and set(names) <= {'zebra', 'giraffe', 'lawn'}, names
        assert _vocabulary(driver) == {'zebra', 'giraffe', 'lawn'}
    finally:
        _after(driver, 'overlay', lambda: _element(driver, 'reset-vocabulary').click(),
               'the vocabulary reset did not re-run the segmentation')
    assert _vocabulary(driver) == initial
    names = _texts(driver, '#segments .segment-class')
    assert names and set(names) <= initial, names


# ---------------------------------------------------------------------------- clicks
def _click_in_mode(driver, mode: str, x: float, y: float, files, message: str):
    """Select the click mode ``mode`` (a radio id), click (x, y) on the prompt view, wait for
    the view to change and return the object list items."""
    _element(driver, mode).click()
    _after(driver, 'prompt-view', lambda: _click_image(driver, 'prompt-view', x, y, files['size']),
           message, attribute='data-actions')
    return driver.find_elements('css selector', '#objects li')


def test_clicks_show_their_mask_at_once_and_undo_clear_work(page, server, files, shots,
                                                            toy_data_root):
    driver = page
    _load_image(driver, files)
    _tab(driver, 'click')
    image = _image_of(driver, 'prompt-view')
    height, width = files['size']
    # The same weights outside the server: the mask each click should show.
    reference, _, random_weights = _build_predictor(toy_data_root)
    reference.set_image(image)
    clicks = [(width * 0.3, height * 0.3), (width * 0.75, height * 0.75)]
    shown, expected = [], []
    for x, y in clicks:
        if shown:
            _after(driver, 'prompt-view', lambda: _element(driver, 'clear').click(),
                   'clear failed', attribute='data-actions')
        _after(driver, 'prompt-view',
               lambda: _click_image(driver, 'prompt-view', x, y, files['size']),
               'the click showed no mask')
        items = driver.find_elements('css selector', '#objects li')
        assert len(items) == 1
        coords = [float(v) for v in items[0].get_attribute('data-coords').split(',')]
        assert abs(coords[0] - x) <= 1.0 and abs(coords[1] - y) <= 1.0, (coords, x, y)
        prompt = reference.predict_prompts(points=[coords])
        expected.append(prompt.masks[0])
        assert int(items[0].get_attribute('data-area')) == int(expected[-1].sum())
        assert items[0].find_element('css selector', '.object-class').text == prompt.names[0]
        overlay = _image_of(driver, 'prompt-view')
        assert overlay.shape == image.shape
        # The overlay colours the mask: compare away from the click markers.
        shown.append(_masked_pixels(overlay, image, clicks))
        target = _masked_pixels(np.where(expected[-1][..., None], 255 - image, image), image,
                                clicks)
        assert (shown[-1] != target).mean() < 0.02, 'the overlay does not show the mask'
    # The mask shown follows the click position as the model's does (a random model's masks
    # depend little on it, yet differ: checked so that the comparison means something).
    if random_weights:
        assert not np.array_equal(expected[0], expected[1])
    assert np.array_equal(shown[0], shown[1]) == np.array_equal(expected[0], expected[1])

    # A box (drag) adds a second object; a negative click only shrinks the current one.
    _after(driver, 'prompt-view',
           lambda: _click_image(driver, 'prompt-view', width * 0.1, height * 0.1, files['size'],
                                drag_to=(width * 0.6, height * 0.6)), 'the box showed no mask')
    items = driver.find_elements('css selector', '#objects li')
    assert len(items) == 2 and '· box ·' in items[1].text
    box_area = int(items[1].get_attribute('data-area'))
    items = _click_in_mode(driver, 'click-negative', width * 0.5, height * 0.5, files,
                           'the negative click changed nothing')
    assert len(items) == 2 and '1 negative' in items[1].text
    if not getattr(server.app.predictor.model.prompt_encoder, 'multi_point', False):
        # The region under the click is removed (a multi-point model re-decodes the object
        # with the negative click instead: its mask may grow elsewhere).
        assert int(items[1].get_attribute('data-area')) <= box_area
    # "add to object": a further click on the same object (no third object).
    items = _click_in_mode(driver, 'click-add', width * 0.2, height * 0.2, files,
                           'the added click changed nothing')
    assert len(items) == 2 and '1 added, 1 negative' in items[1].text
    _element(driver, 'click-positive').click()
    _screenshot(driver, shots, 'clicks')
    _after(driver, 'prompt-view', lambda: _element(driver, 'undo').click(), 'undo failed',
           attribute='data-actions')

    _after(driver, 'prompt-view', lambda: _element(driver, 'undo').click(), 'undo failed',
           attribute='data-actions')
    assert int(driver.find_elements('css selector', '#objects li')[1]
               .get_attribute('data-area')) == box_area
    _after(driver, 'prompt-view', lambda: _element(driver, 'clear').click(), 'clear failed',
           attribute='data-actions')
    assert _texts(driver, '#objects li') == []
    assert np.array_equal(_image_of(driver, 'prompt-view'), image)


def test_the_current_object_becomes_an_example_class(page, server, files, toy_data_root):
    driver = page
    # A fresh upload (no objects), seen even when the page already shows the same image.
    driver.execute_script("document.getElementById('overlay').removeAttribute('src');")
    _load_image(driver, files)
    _tab(driver, 'click')
    image = _image_of(driver, 'prompt-view')
    height, width = files['size']
    _after(driver, 'prompt-view',
           lambda: _click_image(driver, 'prompt-view', width * 0.3, height * 0.3, files['size']),
           'the click showed no mask')
    item = driver.find_element('css selector', '#objects li')
    coords = [float(v) for v in item.get_attribute('data-coords').split(',')]
    _element(driver, 'exemplar-name').clear()
    _element(driver, 'exemplar-name').send_keys('gadget')
    try:
        _after(driver, 'exemplar-status', lambda: _element(driver, 'add-exemplar').click(),
               'the example was not added', attribute='textContent')
        assert 'gadget (1 example)' in _element(driver, 'exemplar-status').text
        assert 'gadget' in _element(driver, 'things').get_attribute('value').split('\n')
        # The example is the clicked object's mask: the same weights outside the server give
        # the same embedding from the mask the click predicts.
        reference, _, _ = _build_predictor(toy_data_root)
        reference.set_image(image)
        reference.add_exemplar('gadget', mask=reference.predict_prompts(points=[coords]).masks[0])
        served = server.app.predictor.exemplars['gadget'].embeddings['decoder']
        assert torch.allclose(served, reference.exemplars['gadget'].embeddings['decoder'],
                              atol=1e-5)
        names = server.app.predictor.class_names
        row = names.index('gadget')
        installed = server.app.predictor.model.panoptic_head.text_classifier.cls_embed
        assert torch.allclose(installed[:, row, 0],
                              server.app.predictor.exemplars['gadget'].prototype('decoder'))
        # Without an object there is nothing to take the example from.
        _after(driver, 'prompt-view', lambda: _element(driver, 'clear').click(), 'clear failed',
               attribute='data-actions')
        _element(driver, 'add-exemplar').click()
        _wait(driver, lambda d: 'make an object first' in _error_text(d),
              'no message for an example without an object')
        _element(driver, 'error-close').click()
    finally:
        _element(driver, 'tab-button-segment').click()
        _after(driver, 'vocabulary-status',
               lambda: _element(driver, 'reset-vocabulary').click(),
               'the vocabulary reset failed', attribute='textContent')


# ---------------------------------------------------------------------------- video
def _run_video(driver, task: str, vos: bool) -> None:
    driver.find_element('css selector', f'#video-task option[value="{task}"]').click()
    checkbox = _element(driver, 'video-vos')
    if checkbox.is_selected() != vos:
        checkbox.click()
    _element(driver, 'run-video').click()
    _wait(driver, lambda d: _element(d, 'video-progress').is_displayed() or _error_text(d),
          'no progress indicator')
    _wait(driver, lambda d: (_element(d, 'video-progress').get_attribute('data-state')
                             in ('done', 'error')) or _error_text(d), 'the video job hangs')
    assert not _error_text(driver), _error_text(driver)
    assert 'frames segmented' in _element(driver, 'video-progress-text').text
    _wait(driver, lambda d: _element(d, 'video-player').is_displayed(), 'no video player')
    _wait(driver, lambda d: d.execute_script(
        'return document.getElementById("video-frame").naturalWidth > 0;'), 'no frame shown')


def test_video_overlays_with_stable_ids_and_vos(page, server, files, shots):
    driver = page
    _tab(driver, 'video')
    _after(driver, 'vos-view', lambda: _upload(driver, 'video-file', [files['clip']]),
           'the clip was not read')
    assert _element(driver, 'video-info').get_attribute('data-frames') == '3'

    _run_video(driver, 'instance', vos=False)
    assert _element(driver, 'video-frame-label').text == 'frame 1 / 3'
    frames = []
    for index in range(3):
        driver.execute_script(
            'const s = document.getElementById("video-slider"); s.value = arguments[0];'
            's.dispatchEvent(new Event("input"));', index)
        _wait(driver, lambda d: _element(d, 'video-frame').get_attribute('data-index')
              == str(index), 'the slider did not change the frame')
        frames.append(_image_of(driver, 'video-frame'))
        _not_blank(frames[-1])
        legend = _texts(driver, '#video-legend li')
        assert all(re.fullmatch(r'.+ #\d+ \d\.\d\d', entry) for entry in legend), legend
        assert {entry.rsplit(' #', 1)[0] for entry in legend} <= _vocabulary(driver)
    assert len({frame.shape for frame in frames}) == 1  # padded to one size
    assert not np.array_equal(frames[0], frames[2])

    # VOS: one object clicked on the first frame, followed through the clip.
    height, width = files['size']
    _after(driver, 'vos-view',
           lambda: _click_image(driver, 'vos-view', width * 0.3, height * 0.3, files['size']),
           'the first-frame click showed no mask')
    assert len(_texts(driver, '#vos-objects li')) == 1
    assert _element(driver, 'video-vos').is_selected()
    _run_video(driver, 'panoptic', vos=True)
    assert _element(driver, 'video-view').get_attribute('value') == 'objects'
    assert _texts(driver, '#video-legend li') == ['object 1']
    _not_blank(_image_of(driver, 'video-frame'))
    _screenshot(driver, shots, 'video')

    # A painted mask is a second object; several frame images are a video too.
    _element(driver, 'vos-paint').click()
    _after(driver, 'vos-view',
           lambda: _click_image(driver, 'vos-view', width * 0.6, height * 0.6, files['size'],
                                drag_to=(width * 0.8, height * 0.7)), 'painting added nothing')
    objects = _texts(driver, '#vos-objects .object-class')
    assert objects[1] == 'painted'
    _element(driver, 'vos-positive').click()
    _after(driver, 'vos-view', lambda: _upload(driver, 'video-file', files['frames']),
           'the frame images were not read')
    assert _element(driver, 'video-info').get_attribute('data-frames') == '3'
    assert _texts(driver, '#vos-objects li') == []


# ---------------------------------------------------------------------------- bad files
@pytest.mark.parametrize('tab, input_id, key, message', [
    ('segment', 'image-file', 'text', 'is not an image'),
    ('segment', 'image-file', 'huge', 'pixels a side'),
    ('video', 'video-file', 'broken', 'cannot read'),
    ('video', 'video-file', 'text', 'is not an image'),
])
def test_bad_files_give_a_clear_message_and_no_traceback(page, files, tab, input_id, key,
                                                         message):
    driver = page
    if _element(driver, 'error').is_displayed():
        _element(driver, 'error-close').click()
    _tab(driver, tab)
    paths = [files[key]] if key != 'text' or input_id == 'image-file' else \
        [files['frames'][0], files[key]]
    _upload(driver, input_id, paths)
    _wait(driver, lambda d: _error_text(d), f'no error shown for {key}')
    text = _error_text(driver)
    assert message in text and files[key].name in text, text
    assert 'Traceback' not in driver.page_source and 'File "' not in text


# ---------------------------------------------------------------------------- json API
def _request(server, path: str, body=None, content_type='application/json'):
    """(status, json answer) of a request to the demo server."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(server.url.rstrip('/') + path, data=data,
                                     headers={'Content-Type': content_type} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_api_answers_every_error_with_a_json_message(server, files):
    """No browser needed: bad requests get a status and a message, never a traceback."""
    status, answer = _request(server, '/api/session', b'')
    assert status == 200
    session = answer['session']
    cases = [
        ('/api/nothing', dict(session=session), 404, 'no such page'),
        ('/api/segment', b'{not json', 400, 'not json'),
        ('/api/segment', dict(session='stale', task='panoptic'), 404, 'reload the page'),
        ('/api/segment', dict(session=session, task='panoptic'), 400, 'upload an image first'),
        ('/api/segment', dict(session=session), 400, 'lacks task'),
        ('/api/vocabulary', dict(things=[' ', ''], stuff=[]), 400, 'vocabulary is empty'),
        ('/api/vocabulary', dict(things='cat'), 400, 'list of class names'),
        ('/api/video/run', dict(session=session, task='panoptic', vos=False), 400,
         'upload a video'),
        ('/api/image', b'x' * (4 << 20), 413, 'at most 3 MB'),
    ]
    for path, body, expected_status, message in cases:
        status, answer = _request(server, path, body)
        assert (status, True) == (expected_status, message in answer.get('error', '')), \
            (path, status, answer)
        assert 'Traceback' not in answer['error']

    boundary = 'demo-boundary'
    image = files['image'].read_bytes()
    form = (f'--{boundary}\r\nContent-Disposition: form-data; name="session"\r\n\r\n'
            f'{session}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="scene.png"\r\nContent-Type: image/png\r\n\r\n').encode() + image + \
        f'\r\n--{boundary}--\r\n'.encode()
    status, answer = _request(server, '/api/image', form,
                              f'multipart/form-data; boundary={boundary}')
    assert status == 200 and (answer['height'], answer['width']) == files['size']
    height, width = files['size']
    for body, message in [
        (dict(action='point', positive=False, coords=[3, 3]), 'add a positive click'),
        (dict(action='point', coords=[width + 5, 3]), 'lies outside the image'),
        (dict(action='box', coords=[10, 10, 10, 20]), 'degenerate'),
        (dict(action='point', coords=[3]), 'needs "coords": 2 numbers'),
        (dict(action='undo'), 'nothing to undo'),
        (dict(action='lasso'), 'unknown prompt action'),
    ]:
        status, answer = _request(server, '/api/prompt', dict(session=session, **body))
        assert status == 400 and message in answer['error'], (body, answer)
    status, answer = _request(server, '/api/segment',
                              dict(session=session, task='depth'))
    assert status == 400 and 'unknown task' in answer['error']
    status, answer = _request(server, '/api/segment',
                              dict(session=session, task='instance', score_thr=2))
    assert status == 400 and 'score threshold' in answer['error']


# ---------------------------------------------------------------------------- command line
def test_cli_refuses_to_start_without_a_checkpoint(capsys):
    config = str(REPO_ROOT / 'configs' / 'toy' / 'omg_toy_interactive.py')
    with pytest.raises(SystemExit) as exit_info:
        parse_args([config])
    assert exit_info.value.code == 2
    assert 'no --checkpoint given' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args([config, '--random-weights', '--checkpoint', config])
    assert 'not both' in capsys.readouterr().err
    args = parse_args([config, '--random-weights'])
    assert args.host == '127.0.0.1' and args.device == 'cpu'


def test_cli_serves_the_page_with_random_weights(toy_data_root, tmp_path):
    config = tmp_path / 'tiny_demo.py'
    config.write_text(f'model = {_tiny_config(toy_data_root)["model"]!r}\n')
    env = dict(os.environ, OMP_NUM_THREADS='1', OMGSEG_CACHE=str(tmp_path / 'cache'),
               PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / 'tools' / 'web_demo.py'), str(config),
         '--random-weights', '--port', '0'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=env)
    try:
        url, output = None, []
        deadline = time.time() + 120
        while url is None and time.time() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            found = re.search(r'(http://127\.0\.0\.1:\d+/)', line)
            url = found.group(1) if found else None
        assert url, 'the demo did not start:\n' + ''.join(output)
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'OMG-Seg web demo' in response.read()
        request = urllib.request.Request(url + 'api/session', data=b'', method='POST')
        with urllib.request.urlopen(request, timeout=30) as response:
            info = json.loads(response.read())
        assert info['random_weights'] is True and info['vocabulary']['things']
        assert '--random-weights' in ''.join(output)
    finally:
        process.terminate()
        process.wait(timeout=30)
