"""Published OMG-Seg checkpoints: safe reading, key mapping and conversion to this layout."""
from .convert import (CONVERTED_FORMAT, CheckpointConversionError, ConversionReport,
                      convert_checkpoint, convert_state_dict, describe_source,
                      load_converted_weights, save_checkpoint)
from .key_mapping import drop_reason, is_prompt_key, rename_key
from .reading import CheckpointContent, UnreadableObject, read_checkpoint_weights
from .target import SegmentorWeights, expected_state_shapes

__all__ = [
    'CONVERTED_FORMAT', 'CheckpointConversionError', 'ConversionReport', 'convert_checkpoint',
    'convert_state_dict', 'describe_source', 'load_converted_weights', 'save_checkpoint',
    'drop_reason', 'is_prompt_key', 'rename_key', 'CheckpointContent', 'UnreadableObject',
    'read_checkpoint_weights', 'SegmentorWeights', 'expected_state_shapes'
]
