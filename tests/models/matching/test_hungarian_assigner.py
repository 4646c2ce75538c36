import itertools

import pytest
import torch

from seg.models.matching import HungarianAssigner
from seg.registry import TASK_UTILS

MASK2FORMER_COSTS = [
    dict(type='ClassificationCost', weight=2.0),
    dict(type='CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
    dict(type='DiceCost', weight=5.0, pred_act=True, eps=1.0),
]


def fixed_cost(matrix):
    """A callable cost returning a given (Q, G) matrix."""
    return lambda pred, gt: torch.tensor(matrix, dtype=torch.float32)


def brute_force_minimum(cost):
    """Smallest total over every injective assignment of the smaller side (Q, G small)."""
    cost = cost.tolist()
    num_queries, num_gts = len(cost), len(cost[0])
    if num_gts <= num_queries:
        return min(sum(cost[q][g] for g, q in enumerate(queries))
                   for queries in itertools.permutations(range(num_queries), num_gts))
    return min(sum(cost[q][g] for q, g in enumerate(gts))
               for gts in itertools.permutations(range(num_gts), num_queries))


def test_assigner_recovers_constructed_matching_with_mask2former_costs():
    torch.manual_seed(0)
    num_points = 64
    gt_masks = torch.zeros(3, num_points)
    gt_masks[0, :20] = 1
    gt_masks[1, 20:40] = 1
    gt_masks[2, 40:] = 1
    gt_labels = torch.tensor([1, 3, 0])
    # query 2 predicts gt 0, query 0 predicts gt 2, query 3 predicts gt 1, query 1 is noise.
    owner = {2: 0, 0: 2, 3: 1}
    mask_logits = torch.randn(4, num_points) * 0.1
    scores = torch.zeros(4, 5)
    for query, gt in owner.items():
        mask_logits[query] = (gt_masks[gt] * 2 - 1) * 6
        scores[query, gt_labels[gt]] = 4.0
    assigner = TASK_UTILS.build(dict(type='HungarianAssigner', match_costs=MASK2FORMER_COSTS))
    query_indices, gt_indices = assigner.assign({'scores': scores, 'masks': mask_logits},
                                                {'labels': gt_labels, 'masks': gt_masks})
    assert query_indices.dtype == torch.long and gt_indices.dtype == torch.long
    assert query_indices.tolist() == [0, 2, 3]
    assert gt_indices.tolist() == [2, 0, 1]


def test_assigner_beats_greedy_and_handles_more_gts_than_queries():
    # Greedy would take (0, 0) = 1 then (1, 1) = 100; the optimum is (0, 1) + (1, 0) = 4.
    assigner = HungarianAssigner(fixed_cost([[1.0, 2.0], [2.0, 100.0]]))
    pred, gt = {'scores': torch.zeros(2, 3)}, {'labels': torch.zeros(2, dtype=torch.long)}
    query_indices, gt_indices = assigner.assign(pred, gt)
    assert list(zip(query_indices.tolist(), gt_indices.tolist())) == [(0, 1), (1, 0)]

    wide = torch.tensor([[4.0, 1.0, 3.0, 9.0], [2.0, 0.5, 5.0, 1.5]])
    assigner = HungarianAssigner([fixed_cost(wide.tolist())])
    query_indices, gt_indices = assigner.assign({'scores': torch.zeros(2, 3)},
                                                {'labels': torch.zeros(4, dtype=torch.long)})
    assert query_indices.tolist() == [0, 1]
    assert len(set(gt_indices.tolist())) == 2
    assert wide[query_indices, gt_indices].sum().item() == pytest.approx(brute_force_minimum(wide))


def test_assigner_is_optimal_on_random_costs_summed_over_terms():
    torch.manual_seed(1)
    terms = [torch.rand(5, 3), torch.rand(5, 3)]
    assigner = HungarianAssigner([fixed_cost(term.tolist()) for term in terms])
    query_indices, gt_indices = assigner.assign({'masks': torch.zeros(5, 2)},
                                                {'masks': torch.zeros(3, 2)})
    total = terms[0] + terms[1]
    assert total[query_indices, gt_indices].sum().item() == pytest.approx(
        brute_force_minimum(total), rel=1e-6)


def test_assigner_without_ground_truth_returns_empty():
    assigner = HungarianAssigner(MASK2FORMER_COSTS)
    query_indices, gt_indices = assigner.assign(
        {'scores': torch.randn(4, 5), 'masks': torch.randn(4, 8)},
        {'labels': torch.zeros(0, dtype=torch.long), 'masks': torch.zeros(0, 8)})
    assert query_indices.shape == (0,) and gt_indices.shape == (0,)
    assert query_indices.dtype == torch.long


def test_assigner_rejects_non_finite_costs_and_mismatched_inputs():
    pred = {'scores': torch.randn(3, 4), 'masks': torch.randn(3, 8)}
    pred['masks'][1, 2] = float('nan')
    gt = {'labels': torch.tensor([0, 2]), 'masks': torch.ones(2, 8)}
    with pytest.raises(ValueError, match='CrossEntropyLossCost.*NaN/inf'):
        HungarianAssigner(MASK2FORMER_COSTS).assign(pred, gt)
    with pytest.raises(ValueError, match='disagree on their first dimension'):
        HungarianAssigner(MASK2FORMER_COSTS).assign(
            {'scores': torch.randn(3, 4), 'masks': torch.randn(2, 8)}, gt)
    with pytest.raises(ValueError, match='at least one match cost'):
        HungarianAssigner([])


def test_assigner_under_bf16_autocast_matches_float32():
    torch.manual_seed(2)
    pred = {'scores': torch.randn(6, 5), 'masks': torch.randn(6, 32)}
    gt = {'labels': torch.tensor([0, 3, 1]), 'masks': (torch.rand(3, 32) > 0.5).float()}
    assigner = HungarianAssigner(MASK2FORMER_COSTS)
    expected = assigner.assign(pred, gt)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        cost = assigner.total_cost(pred, gt)
        result = assigner.assign(pred, gt)
    assert cost.dtype == torch.float32
    assert [r.tolist() for r in result] == [e.tolist() for e in expected]
