"""`tools/evaluate.py` on damaged copies of the evaluation case (issue 19): every task stops with
one line `error: ...` naming the file at fault and exit status 2 (never a traceback, never a
number computed on inconsistent files)."""
import importlib.util
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from .conftest import CASE

REPO_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('evaluate_cli_damaged',
                                               REPO_ROOT / 'tools' / 'evaluate.py')
evaluate_cli = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate_cli)

PAN, INS, YT, SEM, VIP, DAV = ('coco_panoptic', 'coco_instance', 'ytvis', 'semseg', 'vipseg',
                               'davis')


def task_args(task, root):
    if task in ('coco-panoptic', 'cityscapes-panoptic'):
        d = root / PAN
        return [task, '--gt-json', d / 'panoptic_gt.json', '--gt-dir', d / 'panoptic_gt',
                '--pred-json', d / 'panoptic_pred.json', '--pred-dir', d / 'panoptic_pred']
    if task in ('vipseg-vpq', 'vipseg-stq'):
        d = root / VIP
        return [task, '--gt-json', d / 'panoptic_gt_VIPSeg_val.json', '--gt-dir',
                d / 'panomasksRGB', '--pred-json', d / 'submit' / 'pred.json', '--pred-dir',
                d / 'submit' / 'pan_pred']
    if task == 'coco-instance':
        return [task, '--gt-json', root / INS / 'instances_gt.json', '--pred-json',
                root / INS / 'instances_pred.json']
    if task == 'youtube-vis':
        return [task, '--gt-json', root / YT / 'instances_gt.json', '--pred-json',
                root / YT / 'results.json']
    if task == 'semantic':
        return [task, '--gt-dir', root / SEM / 'gt', '--pred-dir', root / SEM / 'pred',
                '--meta', root / SEM / 'meta.json']
    return [task, '--davis-root', root / DAV / 'DAVIS', '--results-dir', root / DAV / 'results']


FOLDER = {'coco-panoptic': PAN, 'cityscapes-panoptic': PAN, 'coco-instance': INS,
          'youtube-vis': YT, 'semantic': SEM, 'vipseg-vpq': VIP, 'vipseg-stq': VIP, 'davis': DAV}


# ----------------------------------------------------------------- damage helpers
def edit_json(path, change):
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


def pngs(folder):
    return sorted(Path(folder).rglob('*.png'))


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


def rewrite_png(path, change):
    cv2.imwrite(str(path), change(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)))


def pan_pred(root):
    return root / PAN / 'panoptic_pred.json'


def pan_gt(root):
    return root / PAN / 'panoptic_gt.json'


def vip_pred(root):
    return root / VIP / 'submit' / 'pred.json'


def vip_gt(root):
    return root / VIP / 'panoptic_gt_VIPSeg_val.json'


def extra_segment(entry):
    return dict(entry, segments_info=entry['segments_info'] + [
        dict(entry['segments_info'][0], id=12345)])


PANOPTIC_DAMAGE = [
    ('truncated pred PNG', lambda r: truncate(pngs(r / PAN / 'panoptic_pred')[0]),
     'cannot decode image file .*panoptic_pred/000000000001.png'),
    ('truncated GT PNG', lambda r: truncate(pngs(r / PAN / 'panoptic_gt')[0]),
     'cannot decode image file .*panoptic_gt/000000000001.png'),
    ('pred PNG of the wrong size', lambda r: rewrite_png(
        pngs(r / PAN / 'panoptic_pred')[0], lambda a: a[::2, ::2]),
     r'panoptic_pred/000000000001.png\): prediction shape \(48, 64\) differs from the GT'),
    ('pred PNG greyscale', lambda r: rewrite_png(pngs(r / PAN / 'panoptic_pred')[0],
                                                 lambda a: a[..., 0]),
     'panoptic_pred/000000000001.png: expected an 8-bit RGB panoptic PNG'),
    ('pred PNG 16-bit', lambda r: rewrite_png(pngs(r / PAN / 'panoptic_pred')[0],
                                              lambda a: a.astype(np.uint16) * 257),
     'panoptic_pred/000000000001.png: expected an 8-bit RGB .* dtype uint16'),
    ('pred PNG missing', lambda r: pngs(r / PAN / 'panoptic_pred')[0].unlink(),
     'image file not found: .*panoptic_pred/000000000001.png'),
    ('pred json without annotations', lambda r: pan_pred(r).write_text('{}'),
     "panoptic_pred.json: missing key 'annotations'"),
    ('pred entry without segments_info', lambda r: edit_json(pan_pred(r), lambda d: dict(
        annotations=[without(a, 'segments_info') for a in d['annotations']])),
     "panoptic_pred.json, image 1: missing key 'segments_info'"),
    ('GT json without categories', lambda r: edit_json(pan_gt(r),
                                                       lambda d: without(d, 'categories')),
     "panoptic_gt.json: missing key 'categories'"),
    ('GT image without id', lambda r: edit_json(pan_gt(r), lambda d: dict(
        d, images=[without(i, 'id') for i in d['images']])),
     "panoptic_gt.json, image #0: missing key 'id'"),
    ('pred segment id absent from the PNG', lambda r: edit_json(pan_pred(r), lambda d: dict(
        annotations=[extra_segment(a) for a in d['annotations']])),
     r'panoptic_pred/000000000001.png\) \(prediction\): segment id\(s\) \[12345\] listed in the '
     'json but absent from the PNG'),
    ('pred PNG id not in the json', lambda r: edit_json(pan_pred(r), lambda d: dict(
        annotations=[dict(a, segments_info=a['segments_info'][1:]) for a in d['annotations']])),
     r'panoptic_pred/000000000001.png\) \(prediction\): segment id\(s\) .* present in the PNG '
     'but not listed'),
    ('GT segment id absent from the PNG', lambda r: edit_json(pan_gt(r), lambda d: dict(
        d, annotations=[extra_segment(a) for a in d['annotations']])),
     r'000000000001.png .*\(GT\): segment id\(s\) \[12345\] listed in the json but absent'),
    ('duplicate GT image ids', lambda r: edit_json(pan_gt(r), lambda d: dict(
        d, images=d['images'] + d['images'][:1])),
     'panoptic_gt.json: image id 1 appears more than once'),
    ('duplicate predictions of one image', lambda r: edit_json(pan_pred(r), lambda d: dict(
        annotations=d['annotations'] + d['annotations'][:1])),
     'panoptic_pred.json: annotation image_id 1 appears more than once'),
    ('prediction for an image not in the GT', lambda r: edit_json(pan_pred(r), lambda d: dict(
        annotations=d['annotations'] + [dict(d['annotations'][0], image_id=999)])),
     'panoptic_pred.json: prediction for image id 999 that is not in the ground truth '
     '.*panoptic_gt.json'),
    ('empty prediction set', lambda r: pan_pred(r).write_text('{"annotations": []}'),
     'panoptic_pred.json: the prediction set is empty'),
    ('pred json cut short', lambda r: pan_pred(r).write_text('{"annotations": ['),
     'panoptic_pred.json is not valid json'),
    ('unknown category', lambda r: edit_json(pan_pred(r), lambda d: dict(annotations=[
        dict(a, segments_info=[dict(s, category_id=777) for s in a['segments_info']])
        for a in d['annotations']])), 'unknown category_id 777'),
]
INSTANCE_DAMAGE = [
    ('result without segmentation', lambda r: edit_json(
        r / INS / 'instances_pred.json', lambda d: [without(x, 'segmentation') for x in d]),
     "instances_pred.json, result #0: missing key 'segmentation'"),
    ('GT without annotations', lambda r: edit_json(
        r / INS / 'instances_gt.json', lambda d: without(d, 'annotations')),
     "instances_gt.json: missing key 'annotations'"),
    ('duplicate GT image ids', lambda r: edit_json(
        r / INS / 'instances_gt.json', lambda d: dict(d, images=d['images'] + d['images'][:1])),
     'instances_gt.json: image id 1 appears more than once'),
    ('prediction for an image not in the GT', lambda r: edit_json(
        r / INS / 'instances_pred.json', lambda d: d + [dict(d[0], image_id=999)]),
     'instances_pred.json: prediction for image id 999 that is not in the ground truth'),
    ('empty prediction set', lambda r: (r / INS / 'instances_pred.json').write_text('[]'),
     'instances_pred.json: the prediction set is empty'),
    ('RLE of the wrong size', lambda r: edit_json(r / INS / 'instances_pred.json', lambda d: [
        dict(x, segmentation=dict(x['segmentation'], size=[10, 10])) for x in d]),
     r'instances_pred.json, result #0: mask size \[10, 10\] differs from the image size'),
]
YTVIS_DAMAGE = [
    ('result without segmentations', lambda r: edit_json(
        r / YT / 'results.json', lambda d: [without(x, 'segmentations') for x in d]),
     "results.json, result #0: missing key 'segmentations'"),
    ('prediction for a video not in the GT', lambda r: edit_json(
        r / YT / 'results.json', lambda d: d + [dict(d[0], video_id=999)]),
     'results.json: prediction for video id 999 that is not in the ground truth'),
    ('duplicate GT video ids', lambda r: edit_json(
        r / YT / 'instances_gt.json', lambda d: dict(d, videos=d['videos'] + d['videos'][:1])),
     'instances_gt.json: video id 1 appears more than once'),
    ('empty prediction set', lambda r: (r / YT / 'results.json').write_text('[]'),
     'results.json: the prediction set is empty'),
    ('track of the wrong length', lambda r: edit_json(r / YT / 'results.json', lambda d: [
        dict(x, segmentations=x['segmentations'][:-1]) for x in d]),
     'results.json, result #0: 7 frames for video 1 of 8 frames'),
]
SEMANTIC_DAMAGE = [
    ('truncated pred PNG', lambda r: truncate(pngs(r / SEM / 'pred')[0]),
     'pred/000000000001.png: cannot read the label PNG .*truncated'),
    ('pred PNG of the wrong size', lambda r: cv2.imwrite(str(pngs(r / SEM / 'pred')[0]),
                                                         np.zeros((5, 5), np.uint8)),
     r'pred/000000000001.png \(GT .*\): prediction shape \(5, 5\) differs'),
    ('pred PNG RGB', lambda r: cv2.imwrite(str(pngs(r / SEM / 'pred')[0]),
                                           np.zeros((96, 128, 3), np.uint8)),
     "pred/000000000001.png: expected an 8-bit single-channel .* got mode 'RGB'"),
    ('pred PNG 16-bit', lambda r: cv2.imwrite(str(pngs(r / SEM / 'pred')[0]),
                                              np.zeros((96, 128), np.uint16)),
     "pred/000000000001.png: expected an 8-bit single-channel .* got mode 'I;16'"),
    ('pred label outside the classes', lambda r: cv2.imwrite(
        str(pngs(r / SEM / 'pred')[0]), np.full((96, 128), 50, np.uint8)),
     r'pred/000000000001.png: label\(s\) \[50\] outside the 7 classes'),
    ('meta without classes', lambda r: edit_json(r / SEM / 'meta.json',
                                                 lambda d: without(d, 'classes')),
     "meta.json: missing key 'classes'"),
    ('empty prediction set', lambda r: [p.unlink() for p in pngs(r / SEM / 'pred')],
     'pred: the prediction set is empty'),
    ('file listed twice', lambda r: edit_json(r / SEM / 'meta.json', lambda d: dict(
        d, files=d['files'] + d['files'][:1])),
     "meta.json: file '000000000001.png' is listed more than once"),
    ('prediction without a GT', lambda r: shutil.copy(pngs(r / SEM / 'pred')[0],
                                                      r / SEM / 'pred' / 'extra.png'),
     'pred/extra.png: prediction without a ground truth'),
]
VIPSEG_DAMAGE = [
    ('truncated pred PNG', lambda r: truncate(pngs(r / VIP / 'submit' / 'pan_pred')[0]),
     'cannot decode image file .*pan_pred/vid_000/00000.png'),
    ('truncated GT PNG', lambda r: truncate(pngs(r / VIP / 'panomasksRGB')[0]),
     'cannot decode image file .*panomasksRGB/vid_000/00000.png'),
    ('pred PNG of the wrong size', lambda r: cv2.imwrite(
        str(pngs(r / VIP / 'submit' / 'pan_pred')[0]), np.zeros((5, 5, 3), np.uint8)),
     r'video vid_000, frame 0 \(00000.png\): prediction shape \(5, 5\) differs'),
    ('pred PNG greyscale', lambda r: rewrite_png(pngs(r / VIP / 'submit' / 'pan_pred')[0],
                                                 lambda a: a[..., 0]),
     'pan_pred/vid_000/00000.png: expected an 8-bit RGB panoptic PNG'),
    ('video entry without annotations', lambda r: edit_json(vip_pred(r), lambda d: dict(
        annotations=[{'video_id': v['video_id']} for v in d['annotations']])),
     "pred.json, video vid_000: missing key 'annotations'"),
    ('duplicate GT video ids', lambda r: edit_json(vip_gt(r), lambda d: dict(
        d, videos=d['videos'] + d['videos'][:1])),
     "panoptic_gt_VIPSeg_val.json: video video_id 'vid_000' appears more than once"),
    ('prediction for a video not in the GT', lambda r: edit_json(vip_pred(r), lambda d: dict(
        annotations=d['annotations'] + [dict(d['annotations'][0], video_id='vid_999')])),
     "pred.json: prediction for video id 'vid_999' that is not in the ground truth"),
    ('empty prediction set', lambda r: vip_pred(r).write_text('{"annotations": []}'),
     'pred.json: the prediction set is empty'),
]
DAVIS_DAMAGE = [
    ('truncated result PNG', lambda r: truncate(pngs(r / DAV / 'results')[1]),
     'results/vid_000/00001.png: cannot read the label PNG'),
    ('truncated GT PNG', lambda r: truncate(pngs(r / DAV / 'DAVIS' / 'Annotations')[0]),
     'Annotations/480p/vid_000/00000.png: cannot read the label PNG'),
    ('result PNG of the wrong size', lambda r: cv2.imwrite(str(pngs(r / DAV / 'results')[1]),
                                                           np.zeros((5, 5), np.uint8)),
     r'results/vid_000/00001.png: result of size \(5, 5\), the annotation is \(96, 128\)'),
    ('result PNG RGB', lambda r: cv2.imwrite(str(pngs(r / DAV / 'results')[1]),
                                             np.zeros((96, 128, 3), np.uint8)),
     "results/vid_000/00001.png: expected an 8-bit single-channel .* got mode 'RGB'"),
    ('result PNG not an image', lambda r: pngs(r / DAV / 'results')[1].write_text('hello'),
     'results/vid_000/00001.png: cannot read the label PNG'),
    ('result sequence missing', lambda r: shutil.rmtree(r / DAV / 'results' / 'vid_000'),
     'label PNG not found: .*results/vid_000/00001.png'),
    ('empty prediction set', lambda r: [shutil.rmtree(p) for p in
                                        (r / DAV / 'results').iterdir()],
     'results: the prediction set is empty'),
    ('object id not in the GT', lambda r: cv2.imwrite(str(pngs(r / DAV / 'results')[1]),
                                                      np.full((96, 128), 9, np.uint8)),
     'sequence vid_000: the prediction holds object id 9'),
    ('results for a sequence not in the set', lambda r: shutil.copytree(
        r / DAV / 'results' / 'vid_000', r / DAV / 'results' / 'vid_999'),
     'results/vid_999: results for a sequence that is not in the evaluated set'),
]
CASES = ([('coco-panoptic', *case) for case in PANOPTIC_DAMAGE]
         + [('cityscapes-panoptic', *PANOPTIC_DAMAGE[-4])]
         + [('coco-instance', *case) for case in INSTANCE_DAMAGE]
         + [('youtube-vis', *case) for case in YTVIS_DAMAGE]
         + [('semantic', *case) for case in SEMANTIC_DAMAGE]
         + [(task, *case) for task in ('vipseg-vpq', 'vipseg-stq') for case in VIPSEG_DAMAGE]
         + [('davis', *case) for case in DAVIS_DAMAGE])


@pytest.mark.parametrize('task,damage,message', [case[:1] + case[2:] for case in CASES],
                         ids=[f'{case[0]}: {case[1]}' for case in CASES])
def test_damaged_input_gives_one_error_line_and_exit_2(tmp_path, capsys, task, damage,
                                                       message):
    shutil.copytree(CASE / FOLDER[task], tmp_path / FOLDER[task])
    damage(tmp_path)
    argv = [str(value) for value in task_args(task, tmp_path)] + ['--no-progress']
    assert evaluate_cli.run(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), captured.err
    assert 'Traceback' not in captured.err and 'fractions' not in captured.out
    assert re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize('task', sorted(FOLDER))
def test_undamaged_case_exits_0(tmp_path, capsys, task):
    argv = [str(value) for value in task_args(task, CASE)] + ['--no-progress']
    assert evaluate_cli.run(argv) == 0
    assert capsys.readouterr().err == ''
