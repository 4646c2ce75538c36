"""What the image and prompt tasks share: features -> decoder -> last prediction at the input
size with its class logits (fused with CLIP's when open-vocabulary fusion is on)."""
from typing import Callable, Optional, Sequence, Tuple

from torch import Tensor

from seg.models.heads import DecoderOutput, QueryPredictions
from .features import ImageFeatures

# (stage-4 backbone map, class logits, the predictions whose masks classify them, padded input
# size) -> fused class logits
ClassLogitFusion = Callable[[Tensor, Tensor, QueryPredictions, Tuple[int, int]], Tensor]


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
                          data_samples: Sequence, upsample: bool = True
                          ) -> Tuple[QueryPredictions, Tensor]:
        """The last prediction (masks upsampled to the padded batch size, the data
        preprocessor's ``batch_input_shape``, unless ``upsample=False``: then at stride 4) and
        its class logits after the open-vocabulary fusion."""
        size = tuple(data_samples[0].metainfo.get('batch_input_shape', features.input_shape))
        prediction = output.last.upsampled(size) if upsample else output.last
        class_logits = prediction.class_logits
        if self.open_vocab is not None:
            class_logits = self.open_vocab(features.backbone[-1], class_logits, prediction, size)
        return prediction, class_logits
