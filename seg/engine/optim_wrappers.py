"""Optimiser wrapper for bf16 mixed-precision training on CPU.

MMEngine's AmpOptimWrapper requires a GPU; on CPU bf16 autocast needs no loss scaling, so the
plain wrapper with an autocast context is enough. It keeps the non-finite loss checks of
``GuardedOptimWrapper``.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from seg.registry import OPTIM_WRAPPERS
from .non_finite import NonFiniteGuardMixin


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(NonFiniteGuardMixin, OptimWrapper):
    """``GuardedOptimWrapper`` whose forward context runs under
    ``torch.autocast('cpu', bfloat16)``."""

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'CPUAutocastOptimWrapper dtype must be bfloat16 or float16, '
                             f'got {dtype}')
        self.dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.dtype):
            yield
