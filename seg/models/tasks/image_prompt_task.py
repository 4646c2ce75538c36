"""Images with location prompts, semantic queries and prompts in one decoder pass: the
panoptic / instance / semantic results and one labelled mask per prompt (see
``combined_queries`` for why the two groups do not disturb each other)."""
from typing import List, Sequence

import torch
from torch import Tensor

from .combined_queries import combine_queries, split_output
from .features import ImageFeatures
from .image_task import ImageTask
from .prompt_task import PromptTask, first_tokens


class ImagePromptTask:
    """Prediction of prompt batches that also want the image results
    (``interactive_test_cfg.with_panoptic``, ``Predictor.predict(..., points=...)``).

    Args:
        image_task: gives the decoder, the semantic-query post-processing and open-vocabulary
            fusion.
        prompt_task: gives the prompt encoding and the per-prompt results.
    """

    def __init__(self, image_task: ImageTask, prompt_task: PromptTask) -> None:
        self.image_task = image_task
        self.prompt_task = prompt_task

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence, rescale: bool = True) -> List:
        return self.predict_features(self.image_task.encode(inputs), data_samples,
                                     rescale=rescale)

    @torch.no_grad()
    def predict_features(self, features: ImageFeatures, data_samples: Sequence,
                         rescale: bool = True) -> List:
        """Fill the image results (as the post-processor's switches say) and ``pred_prompts``
        of every sample from one decoder pass over precomputed features."""
        decoder = self.image_task.decoder
        prompt_queries, counts = self.prompt_task.queries_for(data_samples, features, pad=True)
        semantic = decoder.semantic_queries(len(data_samples))
        output = decoder(features.backbone, queries=combine_queries(semantic, prompt_queries),
                         pixel_features=features.pixel, inference=True)
        semantic_output, prompt_output = split_output(output, semantic['query_feat'].shape[1])
        self.image_task.predict_output(semantic_output, features, data_samples, rescale=rescale)
        prompt_output = first_tokens(prompt_output,
                                     int(prompt_queries.get('tokens_per_prompt', 1)))
        return self.prompt_task.predict_output(prompt_output, counts, features, data_samples,
                                               rescale=rescale)
