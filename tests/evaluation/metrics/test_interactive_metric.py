"""InteractiveMetric: aggregation over objects of click-IoU curves or 1-click masks."""
import numpy as np
import pytest
import torch

from seg.evaluation.metrics import InteractiveMetric


def test_click_curves_are_pooled_over_all_objects():
    metric = InteractiveMetric(miou_clicks=(1, 3))
    curves = [torch.tensor(c, dtype=torch.float64) for c in
              ([[0.5, 1.0, 1.0]], [[0.8, 0.86, 0.95], [0.9, 0.9, 0.9]])]
    metric.process({}, [dict(img_id=i, pred_prompts=dict(click_ious=c))
                        for i, c in enumerate(curves)])
    result = metric.compute_metrics(metric.results)
    assert result['NoC@85'] == pytest.approx((2 + 2 + 1) / 3)
    assert result['NoC@90'] == pytest.approx((2 + 3 + 1) / 3)
    assert result['mIoU@1'] == pytest.approx((0.5 + 0.8 + 0.9) / 3)
    assert result['num_objects'] == 3


def test_one_click_masks_against_gt_masks_as_the_reference():
    gt = np.zeros((2, 4, 4), dtype=bool)
    gt[0, :2] = True
    gt[1, 2:, 2:] = True
    pred = gt.copy()
    pred[0, 2] = True  # IoU 8 / 12
    metric = InteractiveMetric()
    metric.process({}, [dict(img_id=3, pred_prompts=dict(masks=torch.from_numpy(pred)),
                             gt_instances=dict(masks=torch.from_numpy(gt)))])
    result = metric.compute_metrics(metric.results)
    assert set(result) == {'mIoU@1', 'num_objects'}
    assert result['mIoU@1'] == pytest.approx((8 / 12 + 1) / 2)
    with pytest.raises(KeyError, match='pred_prompts'):
        metric.process({}, [dict(img_id=4)])


def test_thing_and_stuff_objects_are_also_reported_apart():
    metric = InteractiveMetric(miou_clicks=(1, 2))
    metric.dataset_meta = dict(num_things_classes=2)
    curves = [[[0.5, 0.9], [0.95, 0.95]], [[0.7, 0.8]]]
    labels = [[0, 3], [1]]  # classes 0, 1 are things, 3 is stuff
    metric.process({}, [dict(img_id=i, pred_prompts=dict(click_ious=torch.tensor(c)),
                             gt_instances=dict(labels=torch.tensor(l)))
                        for i, (c, l) in enumerate(zip(curves, labels))])
    result = metric.compute_metrics(metric.results)
    assert result['mIoU@1'] == pytest.approx((0.5 + 0.95 + 0.7) / 3)
    assert result['things_mIoU@1'] == pytest.approx((0.5 + 0.7) / 2)
    assert result['things_num_objects'] == 2 and result['stuff_num_objects'] == 1
    assert result['stuff_mIoU@2'] == pytest.approx(0.95)
    # Without the class split of the dataset (or labels), the plain keys only.
    metric.dataset_meta = {}
    assert not any(key.startswith(('things_', 'stuff_'))
                   for key in metric.compute_metrics(metric.results))
