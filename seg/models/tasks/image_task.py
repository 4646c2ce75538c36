"""Images with the learned semantic queries: panoptic, instance and semantic segmentation."""
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor

from seg.models.heads import DecoderOutput, panoptic_targets
from .decoder_task import ClassLogitFusion, DecoderTask
from .features import ImageFeatures


class ImageTask(DecoderTask):
    """Loss and prediction of image batches (``SegDataSample`` without prompts).

    Args:
        encode, decoder, criterion, open_vocab: see :class:`DecoderTask`.
        postprocessor: ``QueryPostprocessor``.
    """

    def __init__(self, encode: Callable[[Tensor], ImageFeatures], decoder, criterion,
                 postprocessor, open_vocab: Optional[ClassLogitFusion] = None) -> None:
        super().__init__(encode, decoder, criterion, open_vocab)
        self.postprocessor = postprocessor

    def decode(self, features: ImageFeatures, inference: bool = False) -> DecoderOutput:
        return self.decoder(features.backbone, pixel_features=features.pixel,
                            inference=inference)

    def tensor(self, inputs: Tensor, data_samples=None) -> DecoderOutput:
        return self.decode(self.encode(inputs))

    def loss(self, inputs: Tensor, data_samples: Sequence) -> Dict[str, Tensor]:
        classifier = self.decoder.text_classifier
        targets = []
        for sample in data_samples:
            if 'gt_instances' not in sample:
                raise KeyError(f'training sample {sample.metainfo.get("img_path")} has no '
                               'gt_instances: the pipeline must load annotations')
            sem_seg = sample.gt_sem_seg.sem_seg if 'gt_sem_seg' in sample else None
            labels, masks = panoptic_targets(
                sample.gt_instances.labels, sample.gt_instances.masks, sem_seg,
                classifier.num_things, classifier.num_stuff)
            targets.append(dict(labels=labels.to(inputs.device), masks=masks.to(inputs.device)))
        output = self.decode(self.encode(inputs))
        return self.criterion(output.predictions, targets)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence, rescale: bool = True) -> List:
        return self.predict_features(self.encode(inputs), data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_features(self, features: ImageFeatures, data_samples: Sequence,
                         rescale: bool = True) -> List:
        """Fill ``pred_panoptic_seg`` / ``pred_instances`` / ``pred_sem_seg`` (as the
        post-processor's switches say) of every sample from precomputed features."""
        return self.predict_output(self.decode(features, inference=True), features,
                                   data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_output(self, output: DecoderOutput, features: ImageFeatures,
                       data_samples: Sequence, rescale: bool = True) -> List:
        """:meth:`predict_features` from the semantic queries' decoder output."""
        # Stride-4 masks: the post-processor resizes only the queries its rules select.
        prediction, class_logits = self.final_predictions(output, features, data_samples,
                                                          upsample=False)
        results = self.postprocessor.predict(class_logits, prediction.mask_logits, data_samples,
                                             self.decoder.text_classifier.num_things,
                                             rescale=rescale)
        for sample, result in zip(data_samples, results):
            if 'panoptic' in result:
                sample.pred_panoptic_seg = result['panoptic']
            if 'instances' in result:
                sample.pred_instances = result['instances']
            if 'semantic' in result:
                sample.pred_sem_seg = result['semantic']
        return list(data_samples)
