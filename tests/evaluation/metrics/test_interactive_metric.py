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
