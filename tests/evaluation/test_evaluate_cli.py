"""`tools/evaluate.py` reproduces the official tools' numbers on the shared case."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CASE, assert_close

REPO_ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('evaluate_cli', REPO_ROOT / 'tools' / 'evaluate.py')
evaluate_cli = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate_cli)

PANOPTIC = ['--gt-json', f'{CASE}/coco_panoptic/panoptic_gt.json',
            '--gt-dir', f'{CASE}/coco_panoptic/panoptic_gt',
            '--pred-json', f'{CASE}/coco_panoptic/panoptic_pred.json',
            '--pred-dir', f'{CASE}/coco_panoptic/panoptic_pred']
VIPSEG = ['--gt-json', f'{CASE}/vipseg/panoptic_gt_VIPSeg_val.json',
          '--gt-dir', f'{CASE}/vipseg/panomasksRGB',
          '--pred-json', f'{CASE}/vipseg/submit/pred.json',
          '--pred-dir', f'{CASE}/vipseg/submit/pan_pred']
INSTANCE = ['--gt-json', f'{CASE}/coco_instance/instances_gt.json',
            '--pred-json', f'{CASE}/coco_instance/instances_pred.json']


def run(*argv) -> dict:
    return evaluate_cli.main([*argv, '--no-progress'], echo=lambda line: None)


@pytest.mark.parametrize('task,key', [('coco-panoptic', 'coco_panoptic'),
                                      ('cityscapes-panoptic', 'cityscapes_panoptic')])
def test_panoptic_tasks_match_panopticapi(expected, task, key):
    result = run(task, *PANOPTIC)
    reference = expected[key]
    assert_close(result, {k: reference[k] for k in ('All', 'Things', 'Stuff')}, 1e-9, task)
    for category_id, values in reference['per_class'].items():
        assert_close(result['per_class'][category_id],
                     {k: values[k] for k in ('pq', 'sq', 'rq', 'tp', 'fp', 'fn') if k in values},
                     1e-9, f'{task} class {category_id}')


def test_coco_instance_matches_pycocotools(expected):
    reference = expected['coco_instance_segm']
    result = run('coco-instance', *INSTANCE)
    assert_close(result['stats'], reference['stats'], 1e-9, 'stats')
    assert_close(result['per_category'], reference['per_category'], 1e-9, 'per_category')


def test_coco_instance_mmdet_max_dets(expected):
    mmdet = expected['coco_instance_segm']['mmdet_CocoMetric_style_maxDets_100_300_1000']
    stats = run('coco-instance', *INSTANCE, '--max-dets', '100', '300', '1000')['stats']
    assert list(stats)[6:9] == ['AR100', 'AR300', 'AR1000']
    assert_close(list(stats.values()), list(mmdet.values()), 1e-9, 'mmdet maxDets')


def test_youtube_vis_matches_ytvoseval(expected):
    result = run('youtube-vis', '--gt-json', f'{CASE}/ytvis/instances_gt.json',
                 '--pred-json', f'{CASE}/ytvis/results.json')
    assert_close(result['stats'], expected['ytvis_segm']['stats'], 1e-9, 'stats')
    assert_close({k: {'AP': v['AP']} for k, v in result['per_category'].items()},
                 expected['ytvis_segm']['per_category'], 1e-9, 'per_category')


def test_semantic_matches_mmseg(expected):
    reference = expected['semseg_miou']
    result = run('semantic', '--gt-dir', f'{CASE}/semseg/gt', '--pred-dir', f'{CASE}/semseg/pred',
                 '--meta', f'{CASE}/semseg/meta.json')
    assert_close(result, reference['summary_fraction_float32_reference'], 1e-6, 'summary')
    assert_close(result['per_class'], reference['per_class'], 1e-6, 'per_class')


def test_semantic_with_num_classes_matches_meta(expected):
    result = run('semantic', '--gt-dir', f'{CASE}/semseg/gt', '--pred-dir', f'{CASE}/semseg/pred',
                 '--num-classes', '7', '--ignore-index', '255')
    assert_close(result, expected['semseg_miou']['summary_fraction_float32_reference'], 1e-6)


@pytest.mark.parametrize('windows,mean_key', [
    (None, 'mean_nframes_1_2_4_6_8 (VIPSeg official eval_vpq_vspw.py)'),
    (['1', '2', '3', '4'], 'mean_nframes_1_2_3_4 (k=0,5,10,15; Cityscapes-VPS eval_vpq.py '
                           'convention)'),
    (['1', '2', '4', '6'], 'mean_nframes_1_2_4_6 (OMG-Seg tools/eval_scripts VPQ6 windows)')])
def test_vpq_matches_vipseg(expected, windows, mean_key):
    reference = expected['vipseg_vpq']
    result = run('vipseg-vpq', *VIPSEG, *(['--windows', *windows] if windows else []))
    assert_close(result['VPQ'], reference[mean_key], 1e-9, 'VPQ')
    for window, values in result['per_nframes'].items():
        ref = reference['per_nframes'][window]
        assert_close(values, {k: ref[k] for k in ('All', 'Things', 'Stuff', 'num_windows')},
                     1e-9, f'window {window}')
        for category_id, row in values['per_class'].items():
            ref_row = ref['per_class'][category_id]
            assert (row['tp'], row['fp'], row['fn']) == (ref_row['tp'], ref_row['fp'],
                                                         ref_row['fn'])
            assert row['iou_sum'] == pytest.approx(ref_row['iou'], abs=1e-9)


def test_stq_matches_deeplab2(expected):
    reference = expected['vipseg_stq']
    result = run('vipseg-stq', *VIPSEG, '--num-classes', '124')
    assert_close(result, {k: reference[k] for k in ('STQ', 'AQ', 'IoU', 'STQ_per_seq',
                                                    'AQ_per_seq', 'IoU_per_seq')}, 1e-6)


def test_davis_matches_davis2017_evaluation(expected):
    reference = expected['davis2017_semisupervised']
    result = run('davis', '--davis-root', f'{CASE}/davis/DAVIS', '--results-dir',
                 f'{CASE}/davis/results')
    assert_close(result['global'], reference['global'], 1e-9, 'global')
    assert_close(result['per_object'], reference['per_object'], 1e-9, 'per_object')


def test_script_writes_json_with_fractions(expected, tmp_path):
    out = tmp_path / 'pq.json'
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'evaluate.py'), 'coco-panoptic', *PANOPTIC,
         '--out', str(out), '--no-progress'], capture_output=True, text=True, check=True)
    assert 'All' in completed.stdout
    written = json.loads(out.read_text())
    assert set(written) == {'All', 'Things', 'Stuff', 'per_class'}
    assert_close(written['All'], expected['coco_panoptic']['All'], 1e-9)


def test_missing_prediction_names_the_image(tmp_path):
    pred = json.loads((CASE / 'coco_panoptic' / 'panoptic_pred.json').read_text())
    pred['annotations'] = [a for a in pred['annotations'] if a['image_id'] != 4]
    (tmp_path / 'pred.json').write_text(json.dumps(pred))
    argv = list(PANOPTIC)
    argv[argv.index('--pred-json') + 1] = str(tmp_path / 'pred.json')
    with pytest.raises(KeyError, match='no prediction for the GT image with id 4'):
        run('coco-panoptic', *argv)


def test_png_id_missing_from_json_names_file_and_id(tmp_path):
    pred_dir = Path(shutil.copytree(CASE / 'coco_panoptic' / 'panoptic_pred', tmp_path / 'pred'))
    pred = json.loads((CASE / 'coco_panoptic' / 'panoptic_pred.json').read_text())
    dropped = pred['annotations'][0]['segments_info'].pop()
    (tmp_path / 'pred.json').write_text(json.dumps(pred))
    argv = list(PANOPTIC)
    argv[argv.index('--pred-json') + 1] = str(tmp_path / 'pred.json')
    argv[argv.index('--pred-dir') + 1] = str(pred_dir)
    with pytest.raises(KeyError, match=rf"000000000001.png.*\[{dropped['id']}\].*not listed"):
        run('coco-panoptic', *argv)


def test_unknown_category_names_the_segment(tmp_path):
    pred = json.loads((CASE / 'vipseg' / 'submit' / 'pred.json').read_text())
    segment = pred['annotations'][1]['annotations'][2]['segments_info'][0]
    segment['category_id'] = 77
    (tmp_path / 'pred.json').write_text(json.dumps(pred))
    argv = list(VIPSEG)
    argv[argv.index('--pred-json') + 1] = str(tmp_path / 'pred.json')
    with pytest.raises(KeyError, match=rf"video vid_001.*frame 2.*{segment['id']}.*"
                                       'unknown category_id 77'):
        run('vipseg-stq', *argv)


def test_vipseg_png_id_missing_from_frame_json_names_the_file(tmp_path):
    pred = json.loads((CASE / 'vipseg' / 'submit' / 'pred.json').read_text())
    frame = pred['annotations'][0]['annotations'][3]
    dropped = frame['segments_info'].pop(0)
    (tmp_path / 'pred.json').write_text(json.dumps(pred))
    argv = list(VIPSEG)
    argv[argv.index('--pred-json') + 1] = str(tmp_path / 'pred.json')
    with pytest.raises(KeyError, match=rf"vid_000, frame 3 \(00003.png\) \(prediction\).*"
                                       rf"\[{dropped['id']}\] present in the PNG"):
        run('vipseg-stq', *argv)


@pytest.mark.parametrize('task', ['vipseg-vpq', 'vipseg-stq'])
def test_vipseg_two_processes_equal_one_on_the_official_case(task):
    assert run(task, *VIPSEG, '--nproc', '2') == run(task, *VIPSEG)
