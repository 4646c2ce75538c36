"""Non-finite losses and gradients never reach the weights.

:class:`NonFiniteGuardMixin` checks the loss of every ``update_params`` call and the gradients
right before ``optimizer.step`` (before gradient clipping, which would spread a NaN into every
parameter). On a non-finite value it either stops training with ``FloatingPointError`` or skips
the step (gradients zeroed), naming the iteration and the samples of the batch (recorded by
:class:`RecordSampleIdsHook`). In distributed runs every rank takes the same decision.
"""
import logging
from typing import List, Optional, Sequence

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from seg.registry import HOOKS, OPTIM_WRAPPERS

NON_FINITE_ACTIONS = ('stop', 'skip')
SAMPLE_IDS_KEY = 'train_sample_ids'
SKIPPED_STEPS_KEY = 'non_finite_skipped_steps'


def batch_sample_ids(data_batch) -> List[str]:
    """``img_path`` (else ``img_id``) of every sample of a collated batch, as strings."""
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    ids = []
    for index, sample in enumerate(samples or []):
        meta = getattr(sample, 'metainfo', sample if isinstance(sample, dict) else {})
        for key in ('img_path', 'img_id', 'video_id'):
            if meta.get(key) is not None:
                ids.append(str(meta[key]))
                break
        else:
            ids.append(f'#{index}')
    return ids


@HOOKS.register_module()
class RecordSampleIdsHook(Hook):
    """Stores the batch's sample ids in the message hub (``train_sample_ids``) so errors
    raised during the step can name them."""

    priority = 'VERY_HIGH'

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        runner.message_hub.update_info(SAMPLE_IDS_KEY, batch_sample_ids(data_batch))


class NonFiniteGuardMixin:
    """Adds the non-finite checks to an ``OptimWrapper`` subclass (put it first in the bases).

    Args:
        on_non_finite: ``'stop'`` raises ``FloatingPointError``; ``'skip'`` drops the step
            (and the rest of its gradient-accumulation window), logs a warning and counts it
            in the message hub (``non_finite_skipped_steps``).
        max_consecutive_skips: with ``'skip'``, this many skipped steps in a row stop
            training anyway (the run has diverged).
    """

    def __init__(self, *args, on_non_finite: str = 'stop', max_consecutive_skips: int = 10,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if on_non_finite not in NON_FINITE_ACTIONS:
            raise ValueError(f'on_non_finite must be one of {NON_FINITE_ACTIONS}, got '
                             f'{on_non_finite!r}')
        if int(max_consecutive_skips) < 1:
            raise ValueError(f'max_consecutive_skips must be >= 1, got {max_consecutive_skips}')
        self.on_non_finite = on_non_finite
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.skipped_steps = 0
        self._consecutive_skips = 0
        self._bad_losses: List[float] = []

    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[dict] = None,
                      zero_kwargs: Optional[dict] = None) -> None:
        if not bool(torch.isfinite(loss.detach()).all()):
            self._bad_losses.append(float(loss.detach().float().sum()))
        super().update_params(loss, step_kwargs, zero_kwargs)

    def step(self, **kwargs) -> None:
        problem = self._local_problem()
        self._bad_losses = []
        if self._any_rank(problem is not None):
            self._handle(problem or 'a non-finite loss or gradient on another rank')
            return
        self._consecutive_skips = 0
        super().step(**kwargs)

    def _local_problem(self) -> Optional[str]:
        if self._bad_losses:
            return f'non-finite loss ({", ".join(str(value) for value in self._bad_losses)})'
        grads = [param.grad for group in self.optimizer.param_groups
                 for param in group['params'] if param.grad is not None]
        if not grads:
            return None
        norms = torch.stack([torch.linalg.vector_norm(grad.detach(), dtype=torch.float32)
                             for grad in grads])
        bad = int((~torch.isfinite(norms)).sum())
        if bad:
            return f'non-finite gradients in {bad} of {len(grads)} parameter tensors'
        return None

    def _any_rank(self, flag: bool) -> bool:
        if get_world_size() == 1:
            return flag
        device = next((param.device for group in self.optimizer.param_groups
                       for param in group['params']), torch.device('cpu'))
        value = torch.tensor([float(flag)], device=device)
        all_reduce(value, op='max')
        return bool(value.item() > 0)

    def _handle(self, problem: str) -> None:
        iteration = self.message_hub.get_info('iter')
        where = f'iteration {iteration + 1}' if iteration is not None else 'this iteration'
        samples = self.message_hub.get_info(SAMPLE_IDS_KEY)
        sample_text = ', '.join(samples) if samples else 'unknown (add RecordSampleIdsHook)'
        message = f'{problem} at {where}; samples: {sample_text}'
        if self.on_non_finite == 'stop':
            raise FloatingPointError(
                f'{message}. Training stopped before the weights were updated; set '
                "optim_wrapper.on_non_finite='skip' to skip such steps instead")
        self.skipped_steps += 1
        self._consecutive_skips += 1
        self.message_hub.update_info(SKIPPED_STEPS_KEY, self.skipped_steps)
        if self._consecutive_skips >= self.max_consecutive_skips:
            raise FloatingPointError(
                f'{message}. {self._consecutive_skips} consecutive optimizer steps were skipped '
                '(max_consecutive_skips): training has diverged')
        print_log(f'skipping the optimizer step: {message} ({self.skipped_steps} step(s) '
                  'skipped so far)', logger='current', level=logging.WARNING)


@OPTIM_WRAPPERS.register_module()
class GuardedOptimWrapper(NonFiniteGuardMixin, OptimWrapper):
    """``OptimWrapper`` with the non-finite checks (``on_non_finite``,
    ``max_consecutive_skips``; see :class:`NonFiniteGuardMixin`)."""


GUARD_ARGUMENTS: Sequence[str] = ('on_non_finite', 'max_consecutive_skips')
