"""One object per batch kind: images (semantic queries), location prompts and video clips.

Each task has the same three methods as MMEngine's modes — ``loss``, ``predict``, ``tensor``
— and is built from explicit parts (feature encoder, decoder, prompt encoder, criterion,
post-processor, open-vocabulary fusion), never from the whole model. ``OMGSegmentor`` decides
the batch kind once (:func:`batch_kind`) and delegates. ``ImagePromptTask`` predicts prompt
batches together with the image results in one decoder pass.
"""
from .batch_kind import BATCH_KINDS, batch_kind, is_prompt_batch
from .clip_task import ClipTask
from .features import ImageFeatures
from .image_prompt_task import ImagePromptTask
from .image_task import ImageTask
from .prompt_task import PromptTask, PromptTestConfig, stack_sample_prompts

__all__ = ['BATCH_KINDS', 'batch_kind', 'is_prompt_batch', 'ClipTask', 'ImageFeatures',
           'ImagePromptTask', 'ImageTask', 'PromptTask', 'PromptTestConfig', 'stack_sample_prompts']
