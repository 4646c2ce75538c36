"""One-to-one assignment of predictions to ground truths by minimum summed match cost."""
from typing import Callable, List, Mapping, Sequence, Tuple, Union

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from seg.registry import TASK_UTILS

CostConfig = Union[dict, Callable[[Mapping[str, Tensor], Mapping[str, Tensor]], Tensor]]


def count_rows(container: Mapping[str, Tensor], name: str) -> Tuple[int, torch.device]:
    """Shared first dimension (and device) of every tensor in ``container``."""
    tensors = {key: value for key, value in container.items() if isinstance(value, Tensor)}
    if not tensors:
        raise ValueError(f'HungarianAssigner: {name} holds no tensors (keys {sorted(container)})')
    sizes = {key: value.shape[0] for key, value in tensors.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f'HungarianAssigner: {name} tensors disagree on their first '
                         f'dimension: {sizes}')
    return next(iter(sizes.values())), next(iter(tensors.values())).device


@TASK_UTILS.register_module()
class HungarianAssigner:
    """mmdet's ``HungarianAssigner``: sum the configured costs, solve with scipy.

    Args:
        match_costs: cost configs (``dict(type='DiceCost', ...)``, built from ``TASK_UTILS``) or
            callables ``(pred, gt) -> (Q, G)``; one or a list.
    """

    def __init__(self, match_costs: Union[CostConfig, Sequence[CostConfig]]) -> None:
        if isinstance(match_costs, dict) or callable(match_costs):
            match_costs = [match_costs]
        if len(match_costs) == 0:
            raise ValueError('HungarianAssigner needs at least one match cost')
        self.match_costs: List[Callable] = [
            TASK_UTILS.build(cost) if isinstance(cost, dict) else cost for cost in match_costs]

    def total_cost(self, pred: Mapping[str, Tensor], gt: Mapping[str, Tensor]) -> Tensor:
        """(Q, G) float32 sum of every cost, detached; non-finite values raise ValueError."""
        num_queries, _ = count_rows(pred, 'pred')
        num_gts, _ = count_rows(gt, 'gt')
        total = None
        with torch.no_grad():
            for match_cost in self.match_costs:
                cost = match_cost(pred, gt).detach().float()
                if cost.shape != (num_queries, num_gts):
                    raise ValueError(f'{match_cost!r} returned shape {tuple(cost.shape)}, '
                                     f'expected ({num_queries}, {num_gts})')
                num_bad = int((~torch.isfinite(cost)).sum())
                if num_bad:
                    raise ValueError(f'{match_cost!r} produced {num_bad} NaN/inf entries in its '
                                     f'({num_queries}, {num_gts}) cost matrix; check the '
                                     'predictions for NaN/inf')
                total = cost if total is None else total + cost
        return total

    def assign(self, pred: Mapping[str, Tensor], gt: Mapping[str, Tensor]) -> Tuple[Tensor, Tensor]:
        """Match predictions to ground truths.

        Args:
            pred: ``scores`` (Q, C) and/or ``masks`` (Q, P), as the costs need.
            gt: ``labels`` (G,) and/or ``masks`` (G, P).

        Returns:
            ``(query_indices, gt_indices)``: int64 tensors of length ``min(Q, G)`` on the device
            of ``pred``, ``query_indices`` ascending; query ``query_indices[i]`` is matched to
            ground truth ``gt_indices[i]``. Empty when Q or G is 0.
        """
        num_queries, device = count_rows(pred, 'pred')
        num_gts, _ = count_rows(gt, 'gt')
        if num_queries == 0 or num_gts == 0:
            empty = torch.empty(0, dtype=torch.long, device=device)
            return empty, empty.clone()
        cost = self.total_cost(pred, gt)
        query_indices, gt_indices = linear_sum_assignment(cost.cpu().numpy())
        return (torch.as_tensor(query_indices, dtype=torch.long, device=device),
                torch.as_tensor(gt_indices, dtype=torch.long, device=device))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(match_costs={self.match_costs})'
