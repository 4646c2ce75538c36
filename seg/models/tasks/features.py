"""Per-image features computed once and shared by every decoder pass on that image."""
from dataclasses import dataclass
from typing import List, Tuple

from torch import Tensor


@dataclass
class ImageFeatures:
    """Backbone and pixel-decoder outputs of a batch of B images.

    Attributes:
        backbone: 4 maps at strides 4, 8, 16, 32; the last also feeds the open-vocabulary
            CLIP classification.
        mask_features: (B, C, H/4, W/4) stride-4 mask features.
        memories: the multi-scale maps the decoder attends to (coarse to fine).
        input_shape: (H, W) of the padded input batch.
    """
    backbone: List[Tensor]
    mask_features: Tensor
    memories: List[Tensor]
    input_shape: Tuple[int, int]

    @property
    def pixel(self) -> Tuple[Tensor, List[Tensor]]:
        """The pixel decoder's output as ``OMGHead.forward(pixel_features=...)`` takes it."""
        return self.mask_features, self.memories

    @property
    def batch_size(self) -> int:
        return self.mask_features.shape[0]

    def select(self, index: int) -> 'ImageFeatures':
        """Features of image ``index`` alone (batch dimension kept)."""
        window = slice(index, index + 1)
        return ImageFeatures([feat[window] for feat in self.backbone],
                             self.mask_features[window],
                             [memory[window] for memory in self.memories], self.input_shape)
