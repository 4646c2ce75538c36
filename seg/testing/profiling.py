"""Peak tensor memory of a call, measured by the PyTorch profiler (CPU or CUDA)."""
from typing import Any, Callable, Tuple

import torch
from torch.profiler import ProfilerActivity, profile


def peak_tensor_memory(fn: Callable[[], Any], device: str = 'cpu') -> Tuple[Any, int]:
    """Run ``fn()`` and return (its result, peak bytes of tensors allocated during the call).

    The peak is the largest running sum of the allocator's allocation and release events on
    ``device`` while ``fn`` runs (tensors alive before the call count as 0), i.e. how much
    memory the call needed on top of what was already held.
    """
    activities = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities, profile_memory=True) as prof:
        result = fn()
    events = [event for event in prof.profiler.kineto_results.events()
              if event.name() == '[memory]' and _on_device(event, device)]
    events.sort(key=lambda event: event.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return result, peak


def _on_device(event, device: str) -> bool:
    wanted = 'CUDA' if torch.device(device).type == 'cuda' else 'CPU'
    return event.device_type().name == wanted
