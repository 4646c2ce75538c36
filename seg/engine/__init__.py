"""Runner glue: safe checkpoint loading, CPU mixed precision and the visualisation hook."""
from .checkpoint_format_hook import CheckpointFormatHook
from .checkpoint_loading import CHECKPOINT_ALLOWED_GLOBALS, load_checkpoint_file
from .optim_wrappers import CPUAutocastOptimWrapper
from .visualization_hook import SegVisualizationHook, colorize_panoptic

__all__ = ['CheckpointFormatHook', 'CHECKPOINT_ALLOWED_GLOBALS', 'load_checkpoint_file', 'CPUAutocastOptimWrapper',
           'SegVisualizationHook', 'colorize_panoptic']
