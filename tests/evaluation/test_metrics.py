"""The mmengine metric classes reproduce the official numbers from data samples."""
import json

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from seg.evaluation.functional import (evaluate_coco_panoptic, evaluate_youtube_vis,
                                       read_label_png)
from seg.registry import METRICS

from .conftest import CASE, assert_close


def evaluate(metric_cfg: dict, samples: list, meta: dict = None) -> dict:
    metric = METRICS.build(metric_cfg)
    metric.dataset_meta = meta
    metric.process({}, samples[:2])  # two batches, as the runner would call it
    metric.process({}, samples[2:])
    return metric.evaluate(len(samples))


def test_panoptic_metric_matches_panopticapi(image_samples, panoptic_meta, expected):
    metrics = evaluate(dict(type='CocoPanopticMetric', classwise=True), image_samples,
                       panoptic_meta)
    reference = expected['coco_panoptic']
    for name, suffix in (('All', ''), ('Things', '_th'), ('Stuff', '_st')):
        for key in ('pq', 'sq', 'rq'):
            assert metrics[f'coco_panoptic/{key.upper()}{suffix}'] == pytest.approx(
                reference[name][key], abs=1e-9)
    assert metrics['coco_panoptic/PQ_thing_b'] == pytest.approx(
        reference['per_class']['3']['pq'], abs=1e-9)


def test_cityscapes_metric_uses_its_prefix(image_samples, panoptic_meta, expected):
    metrics = evaluate(dict(type='CityscapesPanopticMetric'), image_samples, panoptic_meta)
    assert metrics['cityscapes_panoptic/PQ'] == pytest.approx(
        expected['cityscapes_panoptic']['All']['pq'], abs=1e-9)


def test_panoptic_metric_writes_official_files(image_samples, panoptic_meta, expected, tmp_path):
    prefix = tmp_path / 'results'
    evaluate(dict(type='CocoPanopticMetric', outfile_prefix=str(prefix)), image_samples,
             panoptic_meta)
    result = evaluate_coco_panoptic(CASE / 'coco_panoptic' / 'panoptic_gt.json',
                                    CASE / 'coco_panoptic' / 'panoptic_gt',
                                    f'{prefix}.panoptic.json', f'{prefix}.panoptic')
    assert_close(result['All'], expected['coco_panoptic']['All'], 1e-9)


@pytest.mark.parametrize('max_dets,key_map', [
    ((1, 10, 100), None),
    ((100, 300, 1000), 'mmdet_CocoMetric_style_maxDets_100_300_1000')])
@pytest.mark.parametrize('with_ann_file', [False, True])
def test_instance_metric_matches_pycocotools(image_samples, panoptic_meta, expected, max_dets,
                                             key_map, with_ann_file):
    cfg = dict(type='CocoInstanceMetric', max_dets=max_dets)
    if with_ann_file:
        cfg['ann_file'] = str(CASE / 'coco_instance' / 'instances_gt.json')
    metrics = evaluate(cfg, image_samples, panoptic_meta)
    reference = expected['coco_instance_segm']
    values = list(reference[key_map].values() if key_map else reference['stats'].values())
    assert list(metrics)[0] == 'coco_instance/segm_mAP'
    assert_close(list(metrics.values()), values, 1e-9)
    if key_map:  # the keys are mmdet's
        assert [k.split('/segm_')[1] for k in metrics] == list(reference[key_map])


def test_sem_seg_metric_matches_mmseg(image_samples, panoptic_meta, semantic_gt, expected):
    samples = [dict(s, gt_sem_seg={'sem_seg': torch.from_numpy(
        semantic_gt[f"{s['img_id']:012d}.png"].astype(np.int64))[None]}) for s in image_samples]
    metrics = evaluate(dict(type='SemSegMetric', ignore_index=255), samples, panoptic_meta)
    reference = expected['semseg_miou']['summary_fraction_float32_reference']
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert metrics[f'sem_seg/{key}'] == pytest.approx(reference[key], abs=1e-6)


def test_sem_seg_metric_from_panoptic_gt(image_samples, panoptic_meta, expected):
    # The case's semantic GT keeps crowd pixels in their class (mmdet's convention).
    metrics = evaluate(dict(type='SemSegMetric', ignore_crowd=False), image_samples,
                       panoptic_meta)
    reference = expected['semseg_miou']['summary_fraction_float32_reference']
    assert metrics['sem_seg/mIoU'] == pytest.approx(reference['mIoU'], abs=1e-6)
    ignoring_crowd = evaluate(dict(type='SemSegMetric'), image_samples, panoptic_meta)
    assert ignoring_crowd['sem_seg/aAcc'] != pytest.approx(reference['aAcc'], abs=1e-6)


@pytest.fixture(scope='module')
def youtube_vis_samples() -> tuple:
    """One sample per video with the case's tracks as (n, T, H, W) masks, and dataset_meta."""
    gt = json.loads((CASE / 'ytvis' / 'instances_gt.json').read_text())
    results = json.loads((CASE / 'ytvis' / 'results.json').read_text())
    samples = []
    for video in gt['videos']:
        empty = np.zeros((video['height'], video['width']), np.uint8)
        tracks = [r for r in results if r['video_id'] == video['id']]
        masks = np.stack([np.stack([mask_utils.decode(s) if s else empty
                                    for s in t['segmentations']]) for t in tracks])
        samples.append({'video_id': video['id'], 'pred_track_instances': {
            'masks': torch.from_numpy(masks.astype(bool)),
            'labels': torch.tensor([t['category_id'] - 1 for t in tracks]),
            'scores': torch.tensor([t['score'] for t in tracks], dtype=torch.float64)}})
    meta = {'classes': [c['name'] for c in gt['categories']],
            'category_ids': [c['id'] for c in gt['categories']]}
    return samples, meta


def test_youtube_vis_metric_matches_ytvoseval(youtube_vis_samples, expected):
    metrics = evaluate(dict(type='YouTubeVISMetric',
                            ann_file=str(CASE / 'ytvis' / 'instances_gt.json')),
                       *youtube_vis_samples)
    assert_close(list(metrics.values()), list(expected['ytvis_segm']['stats'].values()), 1e-9)


def test_youtube_vis_metric_format_only_writes_results(youtube_vis_samples, expected, tmp_path):
    metrics = evaluate(dict(type='YouTubeVISMetric', format_only=True,
                            outfile_prefix=str(tmp_path / 'ytvis')), *youtube_vis_samples)
    assert metrics == {}
    result = evaluate_youtube_vis(CASE / 'ytvis' / 'instances_gt.json',
                                  tmp_path / 'ytvis.results.json')
    assert_close(result['stats'], expected['ytvis_segm']['stats'], 1e-9)


def test_vipseg_metric_matches_official_vpq_and_stq(video_samples, vipseg_meta, expected):
    metrics = evaluate(dict(type='VIPSegMetric', stq_num_classes=124), video_samples,
                       vipseg_meta)
    vpq = expected['vipseg_vpq']
    official = vpq['mean_nframes_1_2_4_6_8 (VIPSeg official eval_vpq_vspw.py)']
    assert metrics['vipseg/VPQ'] == pytest.approx(official['All'], abs=1e-9)
    assert metrics['vipseg/VPQ_th'] == pytest.approx(official['Things'], abs=1e-9)
    assert metrics['vipseg/VPQ_st'] == pytest.approx(official['Stuff'], abs=1e-9)
    assert metrics['vipseg/VPQ@6'] == pytest.approx(vpq['per_nframes']['6']['All']['pq'],
                                                    abs=1e-9)
    for key in ('STQ', 'AQ', 'IoU'):
        assert metrics[f'vipseg/{key}'] == pytest.approx(expected['vipseg_stq'][key], abs=1e-6)


def test_davis_metric_matches_davis2017_evaluation(expected):
    root = CASE / 'davis'
    samples = []
    for sequence in (root / 'DAVIS' / 'ImageSets' / '2017' / 'val.txt').read_text().split():
        frames = sorted((root / 'DAVIS' / 'Annotations' / '480p' / sequence).glob('*.png'))
        gt = np.stack([read_label_png(f) for f in frames])
        pred = np.stack([np.zeros_like(gt[0]) if t in (0, len(frames) - 1) else
                         read_label_png(root / 'results' / sequence / f.name)
                         for t, f in enumerate(frames)])
        samples.append({'sequence': sequence, 'gt_masks': gt, 'pred_masks': pred})
    metrics = evaluate(dict(type='DAVISMetric'), samples)
    assert_close({k.split('/')[1]: v for k, v in metrics.items()},
                 expected['davis2017_semisupervised']['global'], 1e-9)


def test_duplicated_samples_are_rejected(image_samples, panoptic_meta):
    metric = METRICS.build(dict(type='CocoPanopticMetric'))
    metric.dataset_meta = panoptic_meta
    metric.process({}, image_samples[:2] + image_samples[:1])
    with pytest.raises(ValueError, match='evaluated twice'):
        metric.compute_metrics(metric.results)


def test_missing_dataset_meta_is_explained(image_samples):
    metric = METRICS.build(dict(type='CocoPanopticMetric'))
    with pytest.raises(ValueError, match='dataset_meta is not set'):
        metric.process({}, image_samples[:1])


def test_ignored_segment_ids_are_void_in_the_gt(image_samples, panoptic_meta):
    sample = dict(image_samples[0])
    dropped = sample['segments_info'][-1]            # a thing_c segment of image 1
    sample['segments_info'] = sample['segments_info'][:-1]
    metric = METRICS.build(dict(type='CocoPanopticMetric'))
    metric.dataset_meta = panoptic_meta
    with pytest.raises(KeyError, match=rf"\[{dropped['id']}\] present in the PNG"):
        metric.process({}, [sample])
    metric.process({}, [dict(sample, ignored_segment_ids=[dropped['id']])])
    stat = metric.results[0]['stat']
    thing_c = panoptic_meta['category_ids'].index(dropped['category_id'])
    full = METRICS.build(dict(type='CocoPanopticMetric'))
    full.dataset_meta = panoptic_meta
    full.process({}, image_samples[:1])
    # the dropped GT segment was a false negative of thing_c; as void it is no longer one
    assert stat.fn[thing_c] == full.results[0]['stat'].fn[thing_c] - 1
