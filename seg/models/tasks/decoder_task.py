"""What the image and prompt tasks share: features -> decoder -> last prediction at the input
size with its class logits (fused with CLIP's when open-vocabulary fusion is on)."""
from typing import Callable, Optional, Sequence, Tuple

from torch import Tensor

from seg.models.heads import DecoderOutput, QueryPredictions
from .features import ImageFeatures

# (stage-4 backbone map, class logits, mask logits at the input size, num_frames) -> logits
ClassLogitFusion = Callable[[Tensor, Tensor, Tensor, int], Tensor]


class DecoderTask:
    """Base of the single-image tasks.

    Args:
        encode: inputs (B, 3, H, W) -> :class:`ImageFeatures` (backbone + pixel decoder).
        decoder: the ``OMGHead``; its text classifier holds the class space (K, things).
        criterion: ``SetCriterion``.
        open_vocab: CLIP fusion of the class logits, or None.
    """

    def __init__(self, encode: Callable[[Tensor], ImageFeatures], decoder, criterion,
                 open_vocab: Optional[ClassLogitFusion] = None) -> None:
        self.encode = encode
        self.decoder = decoder
        self.criterion = criterion
        self.open_vocab = open_vocab

    def final_predictions(self, output: DecoderOutput, features: ImageFeatures,
                          data_samples: Sequence) -> Tuple[QueryPredictions, Tensor]:
        """The last prediction with masks at the padded batch size (the data preprocessor's
        ``batch_input_shape``) and its class logits after the open-vocabulary fusion."""
        size = data_samples[0].metainfo.get('batch_input_shape', features.input_shape)
        prediction = output.last.upsampled(tuple(size))
        class_logits = prediction.class_logits
        if self.open_vocab is not None:
            class_logits = self.open_vocab(features.backbone[-1], class_logits,
                                           prediction.mask_logits, 0)
        return prediction, class_logits
