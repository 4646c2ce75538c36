"""Non-finite losses / gradients stop training or skip the step, never reach the weights."""
import logging
import math

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger

from seg.engine import GuardedOptimWrapper
from seg.engine.non_finite import SAMPLE_IDS_KEY, SKIPPED_STEPS_KEY, batch_sample_ids
from seg.structures import SegDataSample


def make_wrapper(**kwargs):
    hub = MessageHub.get_instance('non_finite_test')
    hub.update_info('iter', 6)  # 0-based: the log calls it iteration 7
    hub.update_info(SAMPLE_IDS_KEY, ['data/a.jpg', 'data/b.jpg'])
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    wrapper = GuardedOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                                  clip_grad=dict(max_norm=1.0), **kwargs)
    wrapper.message_hub = hub
    return model, wrapper


def weights(model):
    return [param.detach().clone() for param in model.parameters()]


def unchanged(model, before):
    return all(torch.equal(a, b) for a, b in zip(weights(model), before))


def test_stop_raises_naming_iteration_and_samples_before_any_update():
    model, wrapper = make_wrapper()
    before = weights(model)
    loss = model(torch.ones(2, 3)).sum() * float('nan')
    with pytest.raises(FloatingPointError, match=r'non-finite loss \(nan\) at iteration 7; '
                                                 r'samples: data/a\.jpg, data/b\.jpg'):
        wrapper.update_params(loss)
    assert unchanged(model, before)


def test_skip_drops_the_step_logs_and_counts_it_then_training_continues():
    model, wrapper = make_wrapper(on_non_finite='skip')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        before = weights(model)
        wrapper.update_params(model(torch.ones(2, 3)).sum() * float('inf'))
    finally:
        logger.removeHandler(handler)
    assert unchanged(model, before)
    assert all(param.grad is None or not param.grad.any() for param in model.parameters())
    assert wrapper.skipped_steps == 1
    assert wrapper.message_hub.get_info(SKIPPED_STEPS_KEY) == 1
    message = ' '.join(record.getMessage() for record in records)
    assert 'skipping the optimizer step' in message and 'iteration 7' in message
    assert 'data/a.jpg' in message and '1 step(s) skipped' in message

    wrapper.update_params(model(torch.ones(2, 3)).sum())  # a finite step updates again
    assert not unchanged(model, before)
    assert all(torch.isfinite(param).all() for param in model.parameters())


def test_non_finite_gradient_with_finite_loss_is_caught():
    model, wrapper = make_wrapper(on_non_finite='skip')
    before = weights(model)
    # sqrt'(0) is infinite: the loss is 0, its gradient is not finite.
    loss = torch.sqrt(model(torch.zeros(1, 3)) - model.bias).sum()
    assert math.isfinite(loss.item())
    wrapper.update_params(loss)
    assert unchanged(model, before)
    assert wrapper.skipped_steps == 1


def test_too_many_consecutive_skips_stop_training():
    model, wrapper = make_wrapper(on_non_finite='skip', max_consecutive_skips=2)
    wrapper.update_params(model(torch.ones(1, 3)).sum() * float('nan'))
    with pytest.raises(FloatingPointError, match='2 consecutive optimizer steps were skipped'):
        wrapper.update_params(model(torch.ones(1, 3)).sum() * float('nan'))


def test_invalid_action_is_rejected():
    with pytest.raises(ValueError, match="on_non_finite must be one of .* got 'ignore'"):
        make_wrapper(on_non_finite='ignore')


def test_batch_sample_ids_prefer_img_path():
    samples = [SegDataSample(metainfo=dict(img_path='x/1.jpg', img_id=1)),
               SegDataSample(metainfo=dict(img_id=7)), SegDataSample()]
    assert batch_sample_ids(dict(inputs=[], data_samples=samples)) == ['x/1.jpg', '7', '#2']
