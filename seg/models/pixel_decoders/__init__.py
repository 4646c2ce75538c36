"""Pixel decoders (registered in ``seg.registry.MODELS``)."""
from .msdeform_pixel_decoder import MSDeformAttnPixelDecoder, grid_reference_points

__all__ = ['MSDeformAttnPixelDecoder', 'grid_reference_points']
