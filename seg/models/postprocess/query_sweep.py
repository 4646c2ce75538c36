"""One pass over the query masks for all post-processing rules, a band of rows at a time.

The panoptic, instance and semantic rules each read resized mask logits and their sigmoid.
Resizing (stride 4 to the output size) and the sigmoid are the expensive part at full
resolution, so they are done once per query and pixel for all the rules switched on: the
output is swept in bands of rows; for every band, the masks of the queries any rule needs
are resized (:meth:`QueryMasks.rows`) and passed through the sigmoid, and every rule gets its
queries' rows of the band. No full-size tensor of all queries or all classes exists (the
semantic rule's K class scores exist for one band), and a band's tensors are small enough to
be reused from the allocator rather than mapped afresh (a fresh mapping of tens of MB faults
its pages in on first touch, which made the element-wise steps several times slower than
their arithmetic).

A rule is an object with
    ``queries``: (n,) int64 indices of the queries it reads, ascending;
    ``update(start, stop, logits, probs)``: output rows ``[start, stop)`` of its queries
    (in order): resized logits and their sigmoid, both (n, stop - start, W);
    ``result()``: its output once every band has been seen.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor

from .query_masks import QueryMasks

#: Mask elements (queries x band pixels) per band: 2**22 floats = 16 MB per band tensor, small
#: enough for the allocator to reuse rather than map afresh (glibc maps 32 MB and more).
BAND_ELEMENTS = 2 ** 22
#: Bands are a multiple of this many rows (the stride of the mask logits): a band of the
#: first resize step recomputes one stride-4 row of margin on each side.
BAND_ROWS_MULTIPLE = 4


def sweep_queries(mask_pred, rules: Sequence, band_elements: Optional[int] = None) -> list:
    """Feed every rule its queries' masks band by band in one pass; return the results.

    Args:
        mask_pred: (Q, H, W) mask logits or a :class:`QueryMasks` (resized on demand).
        rules: the rules (see the module docstring).
        band_elements: about how many mask values (queries x pixels) one band holds
            (default :data:`BAND_ELEMENTS`).
    """
    num_queries, height, width = mask_pred.shape
    device = mask_pred.device
    members = []
    for rule in rules:
        member = torch.zeros(num_queries, dtype=torch.bool, device=device)
        member[rule.queries] = True
        members.append(member)
    needed = (torch.stack(members).any(0) if members
              else torch.zeros(num_queries, dtype=torch.bool, device=device))
    queries = needed.nonzero().flatten()
    if len(queries):
        # each rule's queries as positions among the needed ones (None: all of them)
        positions = torch.cumsum(needed.long(), 0) - 1
        rule_rows = [None if bool(member[needed].all()) else positions[member]
                     for member in members]
        if isinstance(mask_pred, QueryMasks):  # stride-4 logits of the needed queries
            selected = mask_pred.logits[queries]

            def read(start, stop):
                return mask_pred.rows(selected, start, stop)
        else:
            def read(start, stop):
                return mask_pred[queries, start:stop]
        band = (band_elements or BAND_ELEMENTS) // max(len(queries) * width, 1)
        band = max(band - band % BAND_ROWS_MULTIPLE, BAND_ROWS_MULTIPLE)
        for start in range(0, height, band):
            stop = min(start + band, height)
            logits = read(start, stop)
            probs = logits.sigmoid()
            for rule, rows in zip(rules, rule_rows):
                if rows is None:
                    rule.update(start, stop, logits, probs)
                elif len(rows):
                    rule.update(start, stop, logits.index_select(0, rows),
                                probs.index_select(0, rows))
    return [rule.result() for rule in rules]


def count_true(flags: Tensor) -> Tensor:
    """(N, ...) bool (or 0/1 float) flags -> (N,) int64 count per row. Summed as float32 0/1
    values (exact below 2**24, larger rows in pieces of that size): summing a bool tensor
    widens every element to int64, several times slower on CPU."""
    flat = flags.reshape(flags.shape[0], -1).to(torch.float32)
    piece = 2 ** 24
    return sum(part.sum(1).long() for part in flat.split(piece, dim=1))
