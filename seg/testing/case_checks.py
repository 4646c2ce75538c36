"""Comparisons of this code base's outputs with a reference case's saved outputs.

Each comparison becomes a :class:`Check` (name, measured difference, limit, pass/fail), so a
run prints one line per saved output and fails if any check fails. Kinds:

* ``close``: max absolute difference of two float tensors against an absolute tolerance;
* ``identical``: number of differing elements of boolean / integer tensors (must be 0);
* ``pixels``: fraction of differing pixels of label maps (optionally up to a renumbering of
  instance ids);
* ``instances``: instance lists compared in canonical order (-score, label, -mask area,
  index): same count and labels, scores within a tolerance, masks (or mask areas when the
  case stores no masks) within the pixel-mismatch fraction;
* ``unavailable``: an output this code base cannot produce; always a failure.
"""
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch

from seg.utils.constants import INSTANCE_OFFSET


@dataclass
class Check:
    name: str
    kind: str
    value: float
    limit: float
    passed: bool
    detail: str = ''

    def line(self) -> str:
        status = 'ok  ' if self.passed else 'FAIL'
        if self.kind == 'unavailable':
            return f'{status} {self.name}: not available ({self.detail})'
        measured = {'close': 'max abs diff', 'identical': 'differing elements',
                    'pixels': 'mismatch fraction', 'instances': 'worst mismatch'}[self.kind]
        text = f'{status} {self.name}: {measured} {self.value:.3g} (limit {self.limit:.3g})'
        return text + (f'  [{self.detail}]' if self.detail else '')


def _as_tensor(value) -> torch.Tensor:
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))


def canonical_order(scores: torch.Tensor, labels: torch.Tensor,
                    mask_area: torch.Tensor) -> torch.Tensor:
    """Indices sorted by (-score, label, -mask area, index), as the reference case stores."""
    keys = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), int(labels[i]),
                                                    -int(mask_area[i]), i))
    return torch.as_tensor(keys, dtype=torch.long)


def relabel_segments(ours: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``ours`` with each segment id replaced by the reference id it overlaps most (one to
    one, largest overlaps first); ids without a partner keep their value."""
    pairs, counts = torch.unique(torch.stack([ours.flatten(), reference.flatten()]), dim=1,
                                 return_counts=True)
    mapping, taken = {}, set()
    for index in torch.argsort(counts, descending=True).tolist():
        our_id, ref_id = int(pairs[0, index]), int(pairs[1, index])
        if our_id in mapping or ref_id in taken:
            continue
        mapping[our_id] = ref_id
        taken.add(ref_id)
    relabelled = ours.clone()
    for our_id, ref_id in mapping.items():
        relabelled[ours == our_id] = ref_id
    return relabelled


class CheckList:
    """Accumulates checks; ``passed`` when every check passed and at least one ran."""

    def __init__(self) -> None:
        self.checks: List[Check] = []
        self.notes: List[str] = []

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def _shapes_differ(self, name: str, kind: str, ours: torch.Tensor,
                       reference: torch.Tensor) -> bool:
        if tuple(ours.shape) == tuple(reference.shape):
            return False
        self.add(Check(name, kind, float('inf'), 0.0, False,
                       f'shape {tuple(ours.shape)}, reference {tuple(reference.shape)}'))
        return True

    def close(self, name: str, ours, reference, atol: float) -> Check:
        ours, reference = _as_tensor(ours).detach().cpu(), _as_tensor(reference).cpu()
        if self._shapes_differ(name, 'close', ours, reference):
            return self.checks[-1]
        diff = (ours.double() - reference.double()).abs()
        worst = float(diff.max()) if diff.numel() else 0.0
        finite = bool(torch.isfinite(ours).all() == torch.isfinite(reference).all())
        detail = '' if finite else 'non-finite values differ'
        return self.add(Check(name, 'close', worst, atol, finite and worst <= atol, detail))

    def identical(self, name: str, ours, reference) -> Check:
        ours, reference = _as_tensor(ours).detach().cpu(), _as_tensor(reference).cpu()
        if self._shapes_differ(name, 'identical', ours, reference):
            return self.checks[-1]
        differing = int((ours.to(reference.dtype) != reference).sum())
        return self.add(Check(name, 'identical', differing, 0, differing == 0))

    def pixels(self, name: str, ours, reference, max_fraction: float,
               up_to_instance_ids: bool = False) -> Check:
        """Label maps; with ``up_to_instance_ids`` instance ids may be numbered differently
        (labels and segment shapes must still agree)."""
        ours, reference = _as_tensor(ours).detach().cpu(), _as_tensor(reference).cpu()
        if self._shapes_differ(name, 'pixels', ours, reference):
            return self.checks[-1]
        ours = ours.to(torch.int64)
        reference = reference.to(torch.int64)
        exact = float((ours != reference).double().mean())
        detail = ''
        if up_to_instance_ids and exact > 0:
            relabelled = relabel_segments(ours, reference)
            labels_differ = float(((ours % INSTANCE_OFFSET) != (reference % INSTANCE_OFFSET))
                                  .double().mean())
            fraction = max(float((relabelled != reference).double().mean()), labels_differ)
            detail = f'instance ids renumbered; exact-id mismatch {exact:.3g}'
        else:
            fraction = exact
        return self.add(Check(name, 'pixels', fraction, max_fraction, fraction <= max_fraction,
                              detail))

    def instances(self, name: str, ours: Mapping[str, torch.Tensor],
                  reference: Mapping[str, torch.Tensor], score_atol: float,
                  max_fraction: float, bbox_atol: float = 1.0,
                  reference_ids: Optional[Dict[int, int]] = None) -> Check:
        """Compare instance lists in canonical order.

        ``ours``: ``scores``, ``labels``, ``bboxes``, ``masks`` (n, H, W) and optionally
        ``instances_id``. ``reference``: the case's fields (``canonical_order``, ``mask_area``
        and optionally ``masks`` / ``instances_id``). ``reference_ids``: a dict filled with
        reference id -> our id, shared across the frames of a video to check that the ids are
        stable in both.
        """
        masks = ours['masks'].detach().cpu().bool()
        area = masks.flatten(1).sum(1)
        order = canonical_order(ours['scores'].cpu(), ours['labels'].cpu(), area)
        ref_order = reference['canonical_order']
        count, ref_count = len(order), len(ref_order)
        if count != ref_count:
            return self.add(Check(name, 'instances', float('inf'), 0.0, False,
                                  f'{count} instances, reference {ref_count}'))
        pixels = masks.shape[-2] * masks.shape[-1] if masks.dim() == 3 else 1
        labels = ours['labels'].cpu()[order]
        ref_labels = reference['labels'][ref_order]
        problems = []
        if not torch.equal(labels.long(), ref_labels.long()):
            problems.append(f'labels differ at {int((labels != ref_labels).sum())} positions')
        score_diff = float((ours['scores'].cpu()[order].double()
                            - reference['scores'][ref_order].double()).abs().max()) \
            if count else 0.0
        if score_diff > score_atol:
            problems.append(f'scores differ by {score_diff:.3g} (limit {score_atol})')
        if 'masks' in reference:
            ref_masks = reference['masks'][ref_order].bool()
            mask_fraction = (float((masks[order] != ref_masks).flatten(1).double().mean(1).max())
                             if count else 0.0)
            what = 'mask pixels'
        else:
            area_diff = (area[order] - reference['mask_area'][ref_order]).abs()
            mask_fraction = float(area_diff.max()) / pixels if count else 0.0
            what = 'mask areas'
        if mask_fraction > max_fraction:
            problems.append(f'{what} differ by a fraction {mask_fraction:.3g}')
        box_diff = (float((ours['bboxes'].cpu()[order].double()
                           - reference['bboxes'][ref_order].double()).abs().max())
                    if count else 0.0)
        if box_diff > bbox_atol:
            problems.append(f'boxes differ by {box_diff:.3g} px')
        if reference_ids is not None and 'instances_id' in reference:
            for ref_id, our_id in zip(reference['instances_id'][ref_order].tolist(),
                                      ours['instances_id'].cpu()[order].tolist()):
                if reference_ids.setdefault(ref_id, our_id) != our_id:
                    problems.append(f'reference track {ref_id} maps to our ids '
                                    f'{reference_ids[ref_id]} and {our_id}')
                    break
        detail = '; '.join(problems) or (f'{count} instances, score diff {score_diff:.2g}, '
                                         f'{what} {mask_fraction:.2g}, boxes {box_diff:.2g}px')
        return self.add(Check(name, 'instances', mask_fraction, max_fraction, not problems,
                              detail))

    def unavailable(self, name: str, reason: str) -> Check:
        return self.add(Check(name, 'unavailable', float('nan'), 0.0, False, reason))

    def report(self) -> str:
        failed = sum(not check.passed for check in self.checks)
        lines = [f'note {note}' for note in self.notes]
        lines += [check.line() for check in self.checks]
        lines.append(f'{len(self.checks) - failed} of {len(self.checks)} checks passed'
                     + (f', {failed} FAILED' if failed else ''))
        return '\n'.join(lines)


def stacked(values: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([value.detach().cpu() for value in values])
