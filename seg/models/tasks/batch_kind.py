"""Which task a batch belongs to, decided once per batch from its data samples."""
from typing import Sequence

from seg.structures import is_clip_batch

BATCH_KINDS = ('image', 'prompt', 'clip')


def is_prompt_batch(data_samples: Sequence) -> bool:
    """True when every sample carries ``prompts``, False when none does; a mix raises.

    The samples decide, never the number of queries (the reference switches to prompts when
    a batch has a certain query count, which a semantic batch can have too).
    """
    if not data_samples:
        return False
    flags = ['prompts' in sample for sample in data_samples]
    if all(flags):
        return True
    if any(flags):
        raise ValueError(
            f'a batch mixes prompt samples ({sum(flags)}) and semantic samples '
            f'({len(flags) - sum(flags)}): every batch must come from one source (a '
            'single-source batch sampler, or batch_size=1 per GPU as the reference)')
    return False


def batch_kind(data_samples: Sequence) -> str:
    """``'clip'`` (``TrackSegDataSample``), ``'prompt'`` (samples with ``prompts``) or
    ``'image'``."""
    if is_clip_batch(data_samples):
        return 'clip'
    if is_prompt_batch(data_samples):
        return 'prompt'
    return 'image'
