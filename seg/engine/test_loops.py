"""``SegTestLoop``: MMEngine's ``TestLoop`` plus the click protocol of interactive metrics.

A metric asks for the multi-click protocol through a ``click_protocol`` attribute
(``InteractiveMetric(max_clicks=20)``); after the model's test step the loop runs it on the
batch (``seg.evaluation.click_protocol.add_click_ious``) before the metrics see the outputs.
"""
from typing import Optional, Sequence

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from mmengine.runner.loops import _update_losses  # the test-loss bookkeeping of TestLoop

from seg.evaluation.click_protocol import ClickProtocol, add_click_ious
from seg.registry import LOOPS


def click_protocol_of(evaluator) -> Optional[ClickProtocol]:
    """The click protocol the evaluator's metrics ask for (None when none asks for one);
    two metrics asking for different protocols is an error."""
    protocols = {metric.click_protocol for metric in getattr(evaluator, 'metrics', ())
                 if getattr(metric, 'click_protocol', None) is not None
                 and metric.click_protocol.needs_model}
    if len(protocols) > 1:
        raise ValueError(f'the metrics of one test evaluator ask for different click '
                         f'protocols: {sorted(protocols, key=repr)}')
    return next(iter(protocols), None)


@LOOPS.register_module()
class SegTestLoop(TestLoop):
    """``TestLoop`` that also runs the metrics' click protocol (see the module doc)."""

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
            model = self.runner.model
            add_click_ious(model.module if is_model_wrapper(model) else model, data_batch,
                           outputs, click_protocol_of(self.evaluator))
        outputs, self.test_loss = _update_losses(outputs, self.test_loss)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
