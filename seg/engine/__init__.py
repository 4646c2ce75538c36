"""Runner glue: safe and atomic checkpoints, config checks, non-finite guards, CPU mixed
precision, the visualisation hook and the vocabulary check."""
from .checkpoint_compatibility import (CheckpointCompatibilityHook, StateDictComparison,
                                       checkpoint_state_dict, compare_state_dicts)
from .checkpoint_format_hook import CheckpointFormatHook
from .checkpoint_hook import AtomicCheckpointHook, write_text_atomically
from .checkpoint_loading import CHECKPOINT_ALLOWED_GLOBALS, load_checkpoint_file
from .config_validation import check_component_args, validate_config
from .multi_task_test_loop import MultiTaskTestLoop
from .non_finite import GuardedOptimWrapper, NonFiniteGuardMixin, RecordSampleIdsHook
from .optim_wrappers import CPUAutocastOptimWrapper
from .random_state import capture_rng_state, restore_rng_state
from .test_loops import SegTestLoop
from .visualization_hook import SegVisualizationHook, colorize_panoptic
from .vocabulary_check_hook import VocabularyCheckHook, vocabulary_differences

__all__ = ['AtomicCheckpointHook', 'CheckpointCompatibilityHook', 'CheckpointFormatHook',
           'CHECKPOINT_ALLOWED_GLOBALS', 'load_checkpoint_file', 'CPUAutocastOptimWrapper',
           'GuardedOptimWrapper', 'NonFiniteGuardMixin', 'RecordSampleIdsHook',
           'SegVisualizationHook', 'StateDictComparison', 'capture_rng_state',
           'check_component_args', 'checkpoint_state_dict', 'colorize_panoptic',
           'compare_state_dicts', 'restore_rng_state', 'validate_config', 'write_text_atomically',
           'VocabularyCheckHook', 'vocabulary_differences', 'MultiTaskTestLoop', 'SegTestLoop']
