"""Hungarian matching of queries to ground truths: point sampling, match costs, assigner."""
from .hungarian_assigner import HungarianAssigner
from .match_costs import (BaseMatchCost, ClassificationCost, CrossEntropyLossCost, DiceCost,
                          FlexibleClassificationCost)
from .point_sample import get_uncertain_point_coords_with_randomness, point_sample

__all__ = [
    'BaseMatchCost', 'ClassificationCost', 'CrossEntropyLossCost', 'DiceCost',
    'FlexibleClassificationCost', 'HungarianAssigner',
    'get_uncertain_point_coords_with_randomness', 'point_sample'
]
