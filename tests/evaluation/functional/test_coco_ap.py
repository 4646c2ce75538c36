"""COCO mask AP edge cases with hand-computed values."""
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from seg.evaluation.functional import coco_mask_ap, instances_from_panoptic, quiet_coco
from seg.structures.masks import masks_to_rles as encode_masks
from seg.structures.panoptic_io import read_panoptic_png

from ..conftest import CASE


def box_mask(y0, y1, x0, x1, size=40) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def ground_truth(masks, categories=(1, 2), crowd=()) -> object:
    rles = encode_masks(np.stack(masks))
    annotations = [{'id': i + 1, 'image_id': 1, 'category_id': 1, 'segmentation': rle,
                    'area': float(mask_utils.area(rle)), 'bbox': list(mask_utils.toBbox(rle)),
                    'iscrowd': int(i in crowd)} for i, rle in enumerate(rles)]
    return quiet_coco({'images': [{'id': 1, 'height': 40, 'width': 40}],
                       'annotations': annotations,
                       'categories': [{'id': c, 'name': str(c)} for c in categories]})


def detections(masks, scores, category=1) -> list:
    return [{'image_id': 1, 'category_id': category, 'segmentation': rle, 'score': score}
            for rle, score in zip(encode_masks(np.stack(masks)), scores)]


OBJECT = box_mask(0, 20, 0, 20)   # 400 px: a "small" object (< 32^2)
ELSEWHERE = box_mask(25, 40, 25, 40)


def test_perfect_detection():
    stats = coco_mask_ap(ground_truth([OBJECT]), detections([OBJECT], [0.9]))['stats']
    for key in ('AP', 'AP50', 'APs', 'AR100'):
        assert stats[key] == pytest.approx(1.0)
    assert stats['APm'] == stats['APl'] == -1.0  # no medium / large GT: undefined


def test_higher_scored_false_positive_halves_precision():
    # det 1 (0.9) misses, det 2 (0.5) is exact: precision 1/2 at recall 1 for every IoU.
    result = coco_mask_ap(ground_truth([OBJECT]), detections([ELSEWHERE, OBJECT], [0.9, 0.5]))
    assert result['stats']['AP'] == pytest.approx(0.5)
    assert result['per_category'] == {1: {'AP': pytest.approx(0.5), 'AP50': pytest.approx(0.5)},
                                      2: {'AP': -1.0, 'AP50': -1.0}}  # class 2: no GT


def test_max_dets_cut_keeps_the_highest_scores():
    gt = ground_truth([OBJECT])
    dets = detections([ELSEWHERE, box_mask(30, 40, 0, 10), OBJECT], [0.9, 0.8, 0.1])
    stats = coco_mask_ap(gt, dets, max_dets=(1, 2, 100))['stats']
    assert (stats['AR1'], stats['AR2'], stats['AR100']) == (0.0, 0.0, pytest.approx(1.0))
    assert stats['AP'] == pytest.approx(1 / 3)  # the hit comes third: precision 1/3


def test_ap_is_read_at_100_detections_as_pycocotools_does():
    # pycocotools' summarize reads stats[0] at maxDets=100 whatever the list; the other AP
    # stats use the last maxDets.
    dets = detections([ELSEWHERE, box_mask(30, 40, 0, 10), OBJECT], [0.9, 0.8, 0.1])
    stats = coco_mask_ap(ground_truth([OBJECT]), dets, max_dets=(1, 2, 3))['stats']
    assert stats['AP'] == -1.0
    assert stats['AP50'] == pytest.approx(1 / 3) and stats['AR3'] == pytest.approx(1.0)


def test_detection_on_crowd_is_ignored():
    crowd = box_mask(20, 40, 20, 40)
    dets = detections([box_mask(25, 35, 25, 35), OBJECT], [0.9, 0.5])
    assert coco_mask_ap(ground_truth([OBJECT, crowd], crowd={1}), dets)['stats'][
        'AP'] == pytest.approx(1.0)
    assert coco_mask_ap(ground_truth([OBJECT]), dets)['stats']['AP'] == pytest.approx(0.5)


def test_no_detection_gives_zero_not_an_error():
    stats = coco_mask_ap(ground_truth([OBJECT]), [])['stats']
    assert stats['AP'] == 0.0 and stats['AR100'] == 0.0


def test_bad_results_are_named():
    gt = ground_truth([OBJECT])
    with pytest.raises(KeyError, match='result #0: image_id 7 is not in the ground truth'):
        coco_mask_ap(gt, [dict(detections([OBJECT], [1.0])[0], image_id=7)])
    with pytest.raises(KeyError, match='unknown category_id 5'):
        coco_mask_ap(gt, detections([OBJECT], [1.0], category=5))
    small = encode_masks(np.ones((1, 10, 10), bool))[0]
    with pytest.raises(ValueError, match=r'mask size \[10, 10\] differs'):
        coco_mask_ap(gt, [{'image_id': 1, 'category_id': 1, 'segmentation': small,
                           'score': 1.0}])
    with pytest.raises(ValueError, match='three increasing'):
        coco_mask_ap(gt, [], max_dets=(100, 10, 1))


def test_instances_from_panoptic_match_the_coco_instances_file():
    panoptic = json.loads((CASE / 'coco_panoptic' / 'panoptic_gt.json').read_text())
    instances = json.loads((CASE / 'coco_instance' / 'instances_gt.json').read_text())
    annotation = panoptic['annotations'][1]  # image 2: holds a crowd region
    built = instances_from_panoptic(
        read_panoptic_png(CASE / 'coco_panoptic' / 'panoptic_gt' / annotation['file_name']),
        annotation['segments_info'], thing_category_ids=(1, 3, 7, 9), image_id=2)
    reference = [a for a in instances['annotations'] if a['image_id'] == 2]
    assert len(built) == len(reference) == 4
    for mine, theirs in zip(built, reference):
        for key in ('category_id', 'iscrowd', 'area', 'bbox'):
            assert mine[key] == theirs[key]
        segmentation = theirs['segmentation']
        if isinstance(segmentation['counts'], list):  # crowds: uncompressed RLE
            segmentation = mask_utils.frPyObjects(segmentation, *segmentation['size'])
        assert np.array_equal(mask_utils.decode(mine['segmentation']),
                              mask_utils.decode(segmentation))
