"""Evaluation: `functional` (numpy metric math shared with `tools/evaluate.py`) and
`metrics` (mmengine metric classes registered in `seg.registry.METRICS`)."""
from . import functional
from .metrics import (CityscapesPanopticMetric, CocoInstanceMetric, CocoPanopticMetric,
                      DAVISMetric, SemSegMetric, VIPSegMetric, YouTubeVISMetric)

__all__ = ['functional', 'CocoPanopticMetric', 'CityscapesPanopticMetric', 'CocoInstanceMetric',
           'SemSegMetric', 'YouTubeVISMetric', 'VIPSegMetric', 'DAVISMetric']
