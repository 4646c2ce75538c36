"""SetCriterion under DDP: prompt (paired) and semantic batches issue the same collectives, so
ranks that take different batch kinds in one step cannot pair them wrongly."""
import pytest
import torch

from seg.models.heads import set_criterion as criterion_module
from seg.models.heads.outputs import QueryPredictions
from seg.registry import MODELS


@pytest.fixture
def recorded_collectives(monkeypatch):
    """Pretend to be one of two ranks whose peer reports the same values; record every
    collective's shape."""
    calls = []

    def all_reduce(tensor, op='sum'):
        calls.append((tuple(tensor.shape), op))
        return tensor

    monkeypatch.setattr(criterion_module, 'get_world_size', lambda: 2)
    monkeypatch.setattr(criterion_module, 'all_reduce', all_reduce)
    return calls


def predictions(num_stages=3, batch=2, queries=4, classes=3, size=16):
    torch.manual_seed(0)
    return [QueryPredictions(torch.randn(batch, queries, classes + 1),
                             torch.randn(batch, queries, 1),
                             torch.randn(batch, queries, size, size))
            for _ in range(num_stages)]


def targets(batch=2, count=4, size=16):
    masks = torch.zeros(count, size, size)
    for index in range(count):
        masks[index, 4 * index:4 * index + 4] = 1
    return [dict(labels=torch.arange(count) % 3, masks=masks) for _ in range(batch)]


def test_prompt_and_semantic_losses_issue_the_same_collectives(recorded_collectives):
    criterion = MODELS.build(dict(type='SetCriterion', train_cfg=dict(
        criterion_module.DEFAULT_TRAIN_CFG, num_points=32)))
    criterion(predictions(), targets(), paired=True)
    paired = list(recorded_collectives)
    recorded_collectives.clear()
    criterion(predictions(), targets(), paired=False)
    assert paired == recorded_collectives
    assert len(paired) == 3  # one per stage: both normalisers together


def test_a_prompt_batch_adds_no_class_loss_and_no_gradient_to_the_class_logits():
    criterion = MODELS.build(dict(type='SetCriterion', train_cfg=dict(
        criterion_module.DEFAULT_TRAIN_CFG, num_points=32)))
    stages = predictions()
    for stage in stages:
        stage.class_logits.requires_grad_(True)
        stage.mask_logits.requires_grad_(True)
    losses = criterion(stages, targets(), paired=True)
    assert all(losses[name].item() == 0 for name in losses if name.endswith('loss_cls'))
    sum(losses.values()).backward()
    assert stages[-1].class_logits.grad is None and stages[-1].mask_logits.grad is not None
