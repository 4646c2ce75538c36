"""Random-number-generator state that travels with checkpoints, so a resumed run repeats the
uninterrupted one (same data augmentation, same sampled points).

The state is stored as tensors, ints and tuples only, so checkpoints keep loading with
``torch.load(weights_only=True)``.
"""
import random
from typing import Any, Callable, Dict, Iterator, Optional

import numpy as np
import torch


def capture_rng_state() -> Dict[str, Any]:
    """The state of Python's ``random``, numpy's global generator, torch's CPU (and CUDA)
    generators, in a ``weights_only``-loadable form."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)), position=int(position),
                   has_gauss=int(has_gauss), cached_gaussian=float(cached_gaussian)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    for key in ('python', 'numpy', 'torch'):
        if key not in state:
            raise KeyError(f'random state has no "{key}" entry (keys: {sorted(state)})')
    random.setstate(_as_python_state(state['python']))
    numpy_state = state['numpy']
    np.random.set_state((numpy_state['kind'], numpy_state['keys'].numpy().astype(np.uint32),
                         numpy_state['position'], numpy_state['has_gauss'],
                         numpy_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    cuda_states = state.get('cuda')
    if cuda_states is not None and torch.cuda.is_available():
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def _as_python_state(value: Any) -> tuple:
    # Lists may come back where tuples were saved; random.setstate needs tuples.
    version, internal, gauss = value
    return int(version), tuple(int(item) for item in internal), gauss


class RestoreAfterSkip:
    """Iterator proxy for a resumed iteration-based loop.

    MMEngine's ``IterBasedTrainLoop`` re-reads the ``skip`` batches already trained before it
    continues, which runs the data pipeline (and its random augmentations) again. This proxy
    lets those batches through, then calls ``restore`` right before the first new batch is
    drawn, and finally puts the original iterator back with ``reinstall``.
    """

    def __init__(self, iterator: Iterator, skip: int, restore: Callable[[], None],
                 reinstall: Optional[Callable[[Iterator], None]] = None) -> None:
        self._iterator = iterator
        self._remaining = int(skip)
        self._restore = restore
        self._reinstall = reinstall

    def __iter__(self) -> 'RestoreAfterSkip':
        return self

    def __next__(self):
        if self._remaining > 0:
            self._remaining -= 1
            return next(self._iterator)
        self._restore()
        if self._reinstall is not None:
            self._reinstall(self._iterator)
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)
