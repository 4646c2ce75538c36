"""Image backbones: the OpenCLIP ConvNeXt wrapper and its run-time model registration."""
from .clip_text_encoder import OpenCLIPTextEncoder
from .model_registration import register_convnext_trunk, register_open_clip_config
from .openclip_backbone import OpenCLIPBackbone, load_clip_state_dict

__all__ = [
    'OpenCLIPBackbone', 'OpenCLIPTextEncoder', 'load_clip_state_dict', 'register_convnext_trunk',
    'register_open_clip_config'
]
