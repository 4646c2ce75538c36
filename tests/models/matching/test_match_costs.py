import math

import numpy as np
import pytest
import torch

from seg.models.matching import (ClassificationCost, CrossEntropyLossCost, DiceCost,
                                 FlexibleClassificationCost)
from seg.registry import TASK_UTILS

SCORES = [[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]]
LOGITS = [[2.0, -1.0, 0.0], [0.5, 0.5, -3.0]]
GT_MASKS = [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def softmax_rows(rows):
    out = []
    for row in rows:
        exps = [math.exp(v) for v in row]
        out.append([e / sum(exps) for e in exps])
    return out


def test_classification_cost_is_negative_weighted_softmax_of_gt_class():
    labels = [1, 0, 1]
    cost = ClassificationCost(weight=2.0)({'scores': torch.tensor(SCORES)},
                                          {'labels': torch.tensor(labels)})
    probs = softmax_rows(SCORES)
    expected = [[-2.0 * probs[q][g] for g in labels] for q in range(2)]
    assert cost.shape == (2, 3)
    np.testing.assert_allclose(cost.numpy(), expected, rtol=1e-6)


def test_classification_cost_ignores_extra_objectness_column():
    labels = torch.tensor([2, 0])
    with_objectness = torch.cat([torch.tensor(SCORES), torch.tensor([[50.0], [-7.0]])], dim=1)
    probs = softmax_rows(SCORES)
    expected = [[-probs[q][g] for g in (2, 0)] for q in range(2)]
    for cost in (ClassificationCost(weight=1.0, num_extra_columns=1),
                 FlexibleClassificationCost(weight=1.0)):
        out = cost({'scores': with_objectness}, {'labels': labels})
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r'gt labels must be in \[0, 3\)'):
        ClassificationCost(num_extra_columns=1)({'scores': with_objectness},
                                                {'labels': torch.tensor([3])})


def test_cross_entropy_cost_is_mean_point_bce():
    cost = CrossEntropyLossCost(weight=5.0)({'masks': torch.tensor(LOGITS)},
                                            {'masks': torch.tensor(GT_MASKS)})
    expected = np.zeros((2, 3))
    for q, logits in enumerate(LOGITS):
        for g, target in enumerate(GT_MASKS):
            bce = [-(t * math.log(sigmoid(x)) + (1 - t) * math.log(1 - sigmoid(x)))
                   for x, t in zip(logits, target)]
            expected[q, g] = 5.0 * sum(bce) / len(bce)
    np.testing.assert_allclose(cost.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize('naive_dice', [True, False])
def test_dice_cost_formula(naive_dice):
    eps = 1.0
    cost = DiceCost(weight=5.0, pred_act=True, eps=eps, naive_dice=naive_dice)(
        {'masks': torch.tensor(LOGITS)}, {'masks': torch.tensor(GT_MASKS)})
    expected = np.zeros((2, 3))
    for q, logits in enumerate(LOGITS):
        probs = [sigmoid(x) for x in logits]
        for g, target in enumerate(GT_MASKS):
            overlap = sum(p * t for p, t in zip(probs, target))
            power = 1 if naive_dice else 2
            denominator = sum(p ** power for p in probs) + sum(t ** power for t in target)
            expected[q, g] = 5.0 * (1 - (2 * overlap + eps) / (denominator + eps))
    np.testing.assert_allclose(cost.numpy(), expected, rtol=1e-5)


def test_dice_cost_without_activation_uses_probabilities_as_given():
    probs = torch.tensor([[1.0, 0.0, 1.0]])
    cost = DiceCost(eps=0.0)({'masks': probs}, {'masks': torch.tensor(GT_MASKS)})
    # Perfect match -> 0; vs [0,0,1]: 1 - 2/3; vs [1,1,1]: 1 - 4/5.
    np.testing.assert_allclose(cost.numpy(), [[0.0, 1 / 3, 0.2]], atol=1e-6)


def test_costs_are_float32_under_bf16_autocast_and_built_from_registry():
    pred = {'scores': torch.randn(4, 6).bfloat16(), 'masks': torch.randn(4, 20).bfloat16()}
    gt = {'labels': torch.tensor([0, 4]), 'masks': (torch.rand(2, 20) > 0.5).float()}
    for cfg in (dict(type='ClassificationCost', weight=2.0),
                dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0)):
        cost = TASK_UTILS.build(cfg)
        reference = cost({key: value.float() for key, value in pred.items()}, gt)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = cost(pred, gt)
        assert out.dtype == torch.float32 and out.shape == (4, 2)
        torch.testing.assert_close(out, reference)


def test_costs_report_missing_keys_and_point_mismatch():
    with pytest.raises(KeyError, match="DiceCost needs 'masks'"):
        DiceCost()({'scores': torch.zeros(2, 3)}, {'masks': torch.zeros(1, 3)})
    with pytest.raises(ValueError, match='points per mask'):
        CrossEntropyLossCost()({'masks': torch.zeros(2, 3)}, {'masks': torch.zeros(1, 4)})
    with pytest.raises(ValueError, match='use_sigmoid=True'):
        CrossEntropyLossCost(use_sigmoid=False)
