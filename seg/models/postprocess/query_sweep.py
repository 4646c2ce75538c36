"""One pass over the query masks for all post-processing rules.

The panoptic, instance and semantic rules each read resized mask logits and their sigmoid.
Resizing (stride 4 to the output size) and the sigmoid are the expensive part at full
resolution, so they are done once per query for all the rules switched on: the queries any
rule needs are taken a chunk at a time, resized (:class:`QueryMasks`), passed through the
sigmoid, and every rule gets the rows of the chunk it reads. Only a chunk of full-size masks
exists at once, and the full-size temporaries are written into buffers reused from chunk to
chunk (:class:`Workspace`): a fresh tensor of tens of MB is a fresh ``mmap`` whose pages
fault in on first touch, which made the element-wise steps 3-4x slower than the arithmetic.

A rule is an object with
    ``queries``: (n,) int64 indices of the queries it reads, ascending;
    ``update(logits, probs)``: the next rows of its queries (in order), their resized logits
    and sigmoid, both (m, H, W). Both are overwritten by the next chunk: a rule copies what
    it keeps;
    ``result()``: its output once every row has been seen.
"""
from typing import Dict, Sequence

import torch
from torch import Tensor

#: Full-size mask elements per chunk (2**25 floats = 128 MB per buffer): 32 queries at
#: 1 MP, 4 (the minimum) at 12 MP. Larger chunks mean fewer passes over the semantic rule's
#: K x H x W class scores.
CHUNK_ELEMENTS = 2 ** 25


class Workspace:
    """Named scratch buffers reused across calls: ``take`` returns a view of the requested
    shape, reallocating only when the buffer is too small or of another dtype / device."""

    def __init__(self) -> None:
        self._buffers: Dict[str, Tensor] = {}

    def take(self, name: str, shape, dtype: torch.dtype, device) -> Tensor:
        numel = 1
        for size in shape:
            numel *= int(size)
        buffer = self._buffers.get(name)
        if (buffer is None or buffer.numel() < numel or buffer.dtype != dtype
                or buffer.device != torch.device(device)):
            buffer = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[name] = buffer
        return buffer[:numel].view(tuple(int(size) for size in shape))


def sweep_queries(mask_pred, rules: Sequence, chunk: int = None) -> list:
    """Feed every rule its queries' masks in one pass and return the rules' results.

    Args:
        mask_pred: (Q, H, W) mask logits or a :class:`QueryMasks` (resized on demand).
        rules: the rules (see the module docstring).
        chunk: queries resized at once (default: :data:`CHUNK_ELEMENTS` / (H * W), at
            least 4).
    """
    num_queries, height, width = mask_pred.shape
    device = mask_pred.device
    if chunk is None:
        chunk = max(CHUNK_ELEMENTS // max(height * width, 1), 4)
    members = []
    for rule in rules:
        member = torch.zeros(num_queries, dtype=torch.bool, device=device)
        member[rule.queries] = True
        members.append(member)
    needed = torch.stack(members).any(0) if members else torch.zeros(0, dtype=torch.bool)
    queries = needed.nonzero().flatten()
    parts = queries.split(max(int(chunk), 1)) if len(queries) else ()  # split([]) gives [[]]
    workspace = Workspace()
    for part in parts:
        shape = (len(part), height, width)
        if hasattr(mask_pred, 'resized'):  # QueryMasks
            logits = mask_pred.resized(part, workspace)
        else:
            logits = torch.index_select(mask_pred, 0, part, out=workspace.take(
                'logits', shape, mask_pred.dtype, device))
        probs = torch.sigmoid(logits, out=workspace.take('probs', shape, logits.dtype, device))
        for index, (rule, member) in enumerate(zip(rules, members)):
            rows = member[part]
            if bool(rows.all()):
                rule.update(logits, probs)
            elif bool(rows.any()):
                rows = rows.nonzero().flatten()
                subset = (len(rows), height, width)
                rule.update(
                    torch.index_select(logits, 0, rows, out=workspace.take(
                        f'rule{index}_logits', subset, logits.dtype, device)),
                    torch.index_select(probs, 0, rows, out=workspace.take(
                        f'rule{index}_probs', subset, probs.dtype, device)))
    return [rule.result() for rule in rules]


def count_true(flags: Tensor) -> Tensor:
    """(N, ...) float 0/1 flags -> (N,) int64 count of ones per row. A float sum is exact
    below 2**24; larger rows are summed in pieces of that size. (Summing a bool tensor
    widens every element to int64 and is several times slower on CPU.)"""
    flat = flags.reshape(flags.shape[0], -1)
    piece = 2 ** 24
    return sum(part.sum(1).long() for part in flat.split(piece, dim=1))
