import math

import numpy as np
import pytest
import torch

from seg.models.losses import (CrossEntropyLoss, DiceLoss, FocalLoss, cross_entropy, dice_loss,
                               sigmoid_focal_loss, weight_reduce_loss)
from seg.registry import MODELS

CLS_LOGITS = [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0], [1.0, 1.0, 1.0]]
MASK_LOGITS = [[2.0, -1.0, 0.0, 3.0], [0.5, 0.5, -3.0, -0.2]]
MASK_TARGETS = [[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def log_softmax(row, index):
    return row[index] - math.log(sum(math.exp(v) for v in row))


def bce(x, t):
    return -(t * math.log(sigmoid(x)) + (1 - t) * math.log(1 - sigmoid(x)))


def test_weighted_softmax_cross_entropy_as_mask2former_uses_it():
    labels = [0, 2, 1, 2]  # 2 = no-object
    label_weights = [1.0, 1.0, 0.0, 1.0]
    class_weight = [1.0, 1.0, 0.1]
    avg_factor = sum(class_weight[label] for label in labels)
    loss_fn = MODELS.build(dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                                reduction='mean', class_weight=class_weight))
    pred = torch.tensor(CLS_LOGITS, requires_grad=True)
    loss = loss_fn(pred, torch.tensor(labels), torch.tensor(label_weights), avg_factor=avg_factor)
    expected = 2.0 * sum(-class_weight[label] * w * log_softmax(row, label)
                         for row, label, w in zip(CLS_LOGITS, labels, label_weights)) / avg_factor
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert pred.grad[2].abs().sum() == 0  # zero label weight -> no gradient
    assert pred.grad[0].abs().sum() > 0


def test_cross_entropy_reductions_and_ignore_index():
    pred = torch.tensor(CLS_LOGITS)
    labels = torch.tensor([0, 1, -100, 2])
    per_sample = [-log_softmax(row, label) if label != -100 else 0.0
                  for row, label in zip(CLS_LOGITS, labels.tolist())]
    np.testing.assert_allclose(cross_entropy(pred, labels, reduction='none').numpy(), per_sample,
                               rtol=1e-5)
    assert cross_entropy(pred, labels, reduction='sum').item() == pytest.approx(sum(per_sample),
                                                                               rel=1e-5)
    assert cross_entropy(pred, labels).item() == pytest.approx(sum(per_sample) / 4, rel=1e-5)
    assert cross_entropy(pred, labels, avg_non_ignore=True).item() == pytest.approx(
        sum(per_sample) / 3, rel=1e-5)
    with pytest.raises(ValueError, match='class_weight has 2 entries'):
        CrossEntropyLoss(class_weight=[1.0, 0.1])(pred, labels)


def test_sigmoid_cross_entropy_on_mask_points():
    loss_fn = CrossEntropyLoss(use_sigmoid=True, reduction='mean', loss_weight=5.0)
    pred = torch.tensor(MASK_LOGITS).reshape(-1)
    target = torch.tensor(MASK_TARGETS).reshape(-1)
    total = sum(bce(x, t) for row, trow in zip(MASK_LOGITS, MASK_TARGETS)
                for x, t in zip(row, trow))
    loss = loss_fn(pred, target, avg_factor=2 * 4)
    assert loss.item() == pytest.approx(5.0 * total / 8, rel=1e-5)
    assert loss_fn(pred, target).item() == pytest.approx(5.0 * total / 8, rel=1e-5)
    with pytest.raises(ValueError, match='only supported with use_sigmoid=False'):
        CrossEntropyLoss(use_sigmoid=True, class_weight=[1.0])


@pytest.mark.parametrize('naive_dice', [True, False])
def test_dice_loss_formula(naive_dice):
    eps = 1.0
    loss_fn = DiceLoss(use_sigmoid=True, activate=True, reduction='mean', naive_dice=naive_dice,
                       loss_weight=5.0, eps=eps)
    per_mask = []
    for logits, target in zip(MASK_LOGITS, MASK_TARGETS):
        probs = [sigmoid(x) for x in logits]
        overlap = sum(p * t for p, t in zip(probs, target))
        if naive_dice:
            per_mask.append(1 - (2 * overlap + eps) / (sum(probs) + sum(target) + eps))
        else:
            squares = (sum(p * p for p in probs) + eps) + (sum(t * t for t in target) + eps)
            per_mask.append(1 - 2 * overlap / squares)
    pred = torch.tensor(MASK_LOGITS, requires_grad=True)
    loss = loss_fn(pred, torch.tensor(MASK_TARGETS), avg_factor=3.0)
    assert loss.item() == pytest.approx(5.0 * sum(per_mask) / 3.0, rel=1e-5)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    unreduced = loss_fn(pred, torch.tensor(MASK_TARGETS), torch.tensor([1.0, 0.5]),
                        reduction_override='none')
    np.testing.assert_allclose(unreduced.detach().numpy(),
                               [5.0 * per_mask[0], 2.5 * per_mask[1]], rtol=1e-5)


def test_dice_loss_on_probabilities_and_bad_weight():
    target = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    # Perfect prediction with eps 0 -> 0 loss; the complement -> 1.
    assert dice_loss(target, target, eps=0.0, naive_dice=True).item() == pytest.approx(0.0)
    assert dice_loss(1 - target, target, eps=0.0, naive_dice=True).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match='one per mask'):
        dice_loss(target, target, weight=torch.ones(1, 4))


def focal_term(x, t, gamma=2.0, alpha=0.25):
    p = sigmoid(x)
    if t == 1:
        return -alpha * (1 - p) ** gamma * math.log(p)
    return -(1 - alpha) * p ** gamma * math.log(1 - p)


def test_focal_loss_with_one_class_objectness_targets():
    # OMG objectness: target 0 = matched query (positive), 1 = no object (negative).
    logits = [1.5, -0.3, 0.2, -2.0]
    targets = [0, 1, 1, 0]
    loss_fn = MODELS.build(dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                reduction='mean', loss_weight=2.0))
    pred = torch.tensor(logits)[:, None].requires_grad_()
    loss = loss_fn(pred, torch.tensor(targets), avg_factor=2.5)
    expected = 2.0 * sum(focal_term(x, 1 if t == 0 else 0) for x, t in zip(logits, targets)) / 2.5
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert pred.grad[0, 0] < 0 and pred.grad[1, 0] > 0  # push positives up, negatives down


def test_focal_loss_multiclass_labels_equal_one_hot_targets():
    pred = torch.tensor(CLS_LOGITS[:2])
    labels = torch.tensor([1, 3])  # 3 = background: all-negative row
    one_hot = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    expected = [[focal_term(x, t) for x, t in zip(row, trow)]
                for row, trow in zip(CLS_LOGITS[:2], one_hot.tolist())]
    out = sigmoid_focal_loss(pred, labels, reduction='none')
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    torch.testing.assert_close(sigmoid_focal_loss(pred, one_hot), out.mean())
    weighted = sigmoid_focal_loss(pred, labels, weight=torch.tensor([0.0, 1.0]), reduction='sum')
    assert weighted.item() == pytest.approx(sum(expected[1]), rel=1e-5)
    with pytest.raises(ValueError, match=r'labels must be in \[0, 3\]'):
        sigmoid_focal_loss(pred, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match='only the sigmoid focal loss'):
        FocalLoss(use_sigmoid=False)


def test_weight_reduce_loss_avg_factor_rules():
    loss = torch.tensor([1.0, 2.0, 3.0])
    assert weight_reduce_loss(loss, avg_factor=2.0).item() == pytest.approx(3.0)
    torch.testing.assert_close(weight_reduce_loss(loss, reduction='none', avg_factor=2.0), loss)
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        weight_reduce_loss(loss, reduction='sum', avg_factor=2.0)
    with pytest.raises(ValueError, match='reduction must be one of'):
        DiceLoss(reduction='avg')


def test_losses_are_float32_under_bf16_autocast():
    cls_pred = torch.tensor(CLS_LOGITS).bfloat16().requires_grad_()
    mask_pred = torch.tensor(MASK_LOGITS).bfloat16().requires_grad_()
    labels = torch.tensor([0, 2, 1, 2])
    targets = torch.tensor(MASK_TARGETS)
    cases = [
        (CrossEntropyLoss(class_weight=[1.0, 1.0, 0.1]), cls_pred, labels),
        (CrossEntropyLoss(use_sigmoid=True), mask_pred, targets),
        (DiceLoss(naive_dice=True, eps=1.0), mask_pred, targets),
        (FocalLoss(), cls_pred, labels),
    ]
    for loss_fn, pred, target in cases:
        reference = loss_fn(pred.detach().float(), target)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = loss_fn(pred, target)
        assert loss.dtype == torch.float32, type(loss_fn).__name__
        torch.testing.assert_close(loss, reference)
        loss.backward()
        assert pred.grad is not None and pred.grad.dtype == torch.bfloat16
