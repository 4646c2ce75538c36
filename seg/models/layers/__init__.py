"""Transformer building blocks in plain PyTorch (mmcv / mmdet semantics and parameter names)."""
from .attention import MultiheadAttention
from .builders import ConvModule, build_activation_layer, build_norm_layer
from .ffn import FFN
from .ms_deform_attn import MultiScaleDeformableAttention, multi_scale_deformable_attn
from .positional_encoding import (SinePositionalEncoding, SinePositionalEncoding3D,
                                  coordinate_to_encoding)
from .transformer import (DeformableDetrTransformerEncoder,
                          DeformableDetrTransformerEncoderLayer, Mask2FormerTransformerDecoder,
                          Mask2FormerTransformerDecoderLayer)

__all__ = [
    'ConvModule', 'DeformableDetrTransformerEncoder', 'DeformableDetrTransformerEncoderLayer',
    'FFN', 'Mask2FormerTransformerDecoder', 'Mask2FormerTransformerDecoderLayer',
    'MultiScaleDeformableAttention', 'MultiheadAttention', 'SinePositionalEncoding',
    'SinePositionalEncoding3D', 'build_activation_layer', 'build_norm_layer',
    'coordinate_to_encoding', 'multi_scale_deformable_attn',
]
