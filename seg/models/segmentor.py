"""The top model: frozen CLIP backbone + shared mask decoder, three batch kinds.

Follows MMEngine's ``BaseModel`` contract: ``forward(inputs, data_samples, mode)`` with
``mode='loss'`` (dict of losses), ``'predict'`` (data samples carrying the predictions) and
``'tensor'`` (the decoder's :class:`DecoderOutput`, no post-processing). The batch kind
(``'image'``, ``'prompt'`` or ``'clip'``, see :func:`seg.models.tasks.batch_kind`) is decided
once per batch and the batch goes to that kind's task object (``seg.models.tasks``).

Public entry points besides ``forward``: :meth:`extract_feat` (backbone),
:meth:`image_features` (backbone + pixel decoder, what an image's every later prediction
reuses), :meth:`predict_image`, :meth:`predict_prompts`, :meth:`predict_image_and_prompts`
(both in one decoder pass), :meth:`predict_video`, the vocabulary methods and
:meth:`inference_settings`.

The constructor reads no file: the vocabulary's class names and text embeddings are installed
by :func:`seg.models.build_segmentor`, by the runner (``VocabularyCheckHook.before_run``) or by
``Predictor.from_config`` (see ``seg.models.vocabulary_loading``).
"""
import copy
import dataclasses
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from seg.registry import MODELS
from seg.structures import SegDataSample
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.merge import merge_vocabularies
from .heads import DecoderOutput, QueryPredictions, build_prompt_encoder
from .postprocess.open_vocab import OpenVocabFusion
from .tasks import (ClipTask, ImageFeatures, ImagePromptTask, ImageTask, PromptTask,
                    PromptTestConfig, batch_kind)
from .video import VideoInferenceConfig


@MODELS.register_module()
class OMGSegmentor(BaseModel):
    """OMG-Seg segmentor.

    Args:
        backbone: ``OpenCLIPBackbone`` config.
        panoptic_head: ``OMGHead`` config (the mask decoder; its state-dict prefix is the
            reference's); ``in_channels`` and the CLIP dimension come from the backbone.
        vocabulary: the classes to train / predict: a ``Vocabulary`` or its config (see
            :meth:`Vocabulary.build`); resolved outside the constructor.
        criterion: ``SetCriterion`` config (losses and matching); ``train_cfg`` is its
            ``train_cfg``.
        postprocessor: ``QueryPostprocessor`` config; ``test_cfg`` is its ``test_cfg``.
        text_embeddings: ``file`` (explicit path) or ``cache_dir`` (default:
            ``$OMGSEG_CACHE/embeddings``), and ``generate_if_missing`` (build the file from the
            backbone's text tower when absent or made for other class names).
        config_path: shown in the "run gen_cls" message when the embedding file is missing.
        video_cfg: video test settings (:class:`VideoInferenceConfig`).
        prompt_encoder: ``PromptEncoder`` config; None = no point / box prompts.
        interactive_test_cfg: :class:`PromptTestConfig` (``with_panoptic``).
        open_vocab: CLIP ensemble settings (:class:`OpenVocabFusion`: ``enabled``, ``alpha``,
            ``beta``, ``seen_flags`` or ``seen_vocabularies``); None = decoder classes only.
    """

    def __init__(self, backbone: dict, panoptic_head: dict,
                 vocabulary: Union[Vocabulary, dict, None] = None,
                 criterion: Optional[dict] = None,
                 postprocessor: Optional[dict] = None,
                 text_embeddings: Optional[dict] = None,
                 config_path: Optional[str] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 video_cfg: Optional[dict] = None,
                 prompt_encoder: Optional[dict] = None,
                 interactive_test_cfg: Optional[dict] = None,
                 open_vocab: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):
            # Built here so string types resolve in this package's registry whatever the
            # current default scope (MMEngine's BaseModel would look in its root registry).
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if vocabulary is None:
            raise ValueError('OMGSegmentor needs a `vocabulary` (a Vocabulary config, see '
                             'Vocabulary.build, or class lists with a name)')
        self.vocabulary_cfg = vocabulary
        self.vocabulary: Optional[Vocabulary] = None  # installed by set_class_embeddings
        self.text_embeddings_cfg = dict(text_embeddings or {})
        self.config_path = config_path

        self.backbone = MODELS.build(backbone)
        head_cfg = copy.deepcopy(dict(panoptic_head))
        head_cfg.update(in_channels=list(self.backbone.out_channels),
                        clip_embed_dim=self.backbone.embed_dim)
        self.panoptic_head = MODELS.build(head_cfg)
        criterion_cfg = dict(copy.deepcopy(criterion or {}), train_cfg=train_cfg)
        criterion_cfg.setdefault('type', 'SetCriterion')
        self.criterion = MODELS.build(criterion_cfg)
        postprocessor_cfg = dict(copy.deepcopy(postprocessor or {}), test_cfg=test_cfg)
        postprocessor_cfg.setdefault('type', 'QueryPostprocessor')
        self.postprocessor = MODELS.build(postprocessor_cfg)
        self.prompt_encoder = build_prompt_encoder(copy.deepcopy(prompt_encoder),
                                                   self.panoptic_head.feat_channels)
        self.video_cfg = VideoInferenceConfig.build(video_cfg)
        self.interactive_test_cfg = PromptTestConfig.build(interactive_test_cfg)
        self.open_vocab = OpenVocabFusion.from_config(open_vocab)

        self.tasks = dict(
            image=ImageTask(self.image_features, self.panoptic_head, self.criterion,
                            self.postprocessor, self.fuse_open_vocab),
            clip=ClipTask(self.extract_feat, self.panoptic_head, self.criterion,
                          self.postprocessor, lambda: self.video_cfg))
        if self.prompt_encoder is not None:
            self.tasks['prompt'] = PromptTask(self.image_features, self.panoptic_head,
                                              self.prompt_encoder, self.criterion,
                                              self.fuse_open_vocab)
            self.image_prompt_task = ImagePromptTask(self.tasks['image'], self.tasks['prompt'])

    # ------------------------------------------------------------------ vocabulary
    @property
    def num_classes(self) -> int:
        return self.panoptic_head.text_classifier.num_classes

    def set_class_embeddings(self, vocabulary: Vocabulary, embeddings: Tensor) -> None:
        """Install a vocabulary and its (K, P, D) text embeddings (one row per class, things
        first): from now on the model classifies into these K classes."""
        if embeddings.shape[0] != len(vocabulary.classes):
            raise ValueError(f'{embeddings.shape[0]} text embeddings for the '
                             f'{len(vocabulary.classes)} classes of vocabulary '
                             f'{vocabulary.name!r}')
        self.panoptic_head.text_classifier.set_embeddings(embeddings, vocabulary.num_things)
        self.vocabulary = vocabulary

    def set_vocabulary(self, names, stuff_classes: Sequence[str] = (),
                       name: Optional[str] = None) -> Vocabulary:
        """Predict with another vocabulary (inference only): a :class:`Vocabulary`, a list of
        thing names (+ ``stuff_classes``) or a names file (see ``seg.vocab.runtime_vocabulary``).
        Its text embeddings are computed with the backbone's text tower and cached."""
        from .vocabulary_loading import load_runtime_vocabulary  # file I/O lives there
        vocabulary, embeddings = load_runtime_vocabulary(self, names, stuff_classes, name)
        self.set_class_embeddings(vocabulary, embeddings)
        return vocabulary

    def select_vocabulary(self, vocabulary: Vocabulary) -> None:
        """Predict with ``vocabulary``, every class of which names a class of the current one
        (matched by synonym, things with things, stuff with stuff, as vocabularies are merged):
        the matched text prototypes are reused, so no text tower is needed. Used to evaluate a
        jointly trained model on each dataset in the dataset's own label space."""
        current_vocabulary = self._require_vocabulary()
        merged = merge_vocabularies([current_vocabulary, vocabulary])
        missing = [name for name in merged.vocabulary.classes
                   if name not in current_vocabulary.classes]
        if missing:
            raise ValueError(f'vocabulary {vocabulary.name!r} has classes the model vocabulary '
                             f'{current_vocabulary.name!r} does not name: {missing[:10]}; use '
                             'set_vocabulary() to embed new names with the text tower')
        current = self.panoptic_head.text_classifier.cls_embed  # (D, K + 1, P)
        rows = torch.as_tensor(merged.label_maps[1], device=current.device)
        self.set_class_embeddings(vocabulary, current[:, rows].permute(1, 2, 0))

    @contextmanager
    def selected_vocabulary(self, vocabulary: Vocabulary) -> Iterator[None]:
        """:meth:`select_vocabulary` for the duration of a ``with`` block, then the previous
        vocabulary and prototypes again."""
        previous = self._require_vocabulary()
        prototypes = self.panoptic_head.text_classifier.cls_embed  # (D, K + 1, P)
        self.select_vocabulary(vocabulary)
        try:
            yield
        finally:
            self.set_class_embeddings(previous, prototypes[:, :-1].permute(1, 2, 0))

    def _require_vocabulary(self) -> Vocabulary:
        if self.vocabulary is None:
            raise RuntimeError(
                'the model has no vocabulary installed yet: build it with '
                'seg.models.build_segmentor(cfg) (or Predictor.from_config), or call '
                'seg.models.load_configured_vocabulary(model) after MODELS.build')
        return self.vocabulary

    def fuse_open_vocab(self, stage4: Tensor, class_logits: Tensor,
                        predictions: QueryPredictions, input_shape: Sequence[int]) -> Tensor:
        """``class_logits`` fused with CLIP's classification of the masks of ``predictions``
        (upsampled to ``input_shape`` first, as the reference does) when ``open_vocab`` is set
        (it may be switched at any time); else unchanged, and nothing is upsampled."""
        if self.open_vocab is None:
            return class_logits
        masks = predictions.upsampled(input_shape).mask_logits
        return self.open_vocab(self.backbone, self.panoptic_head.text_classifier,
                               self._require_vocabulary().classes, stage4, class_logits, masks)

    # ------------------------------------------------------------------ settings
    @contextmanager
    def inference_settings(self, test_cfg: Optional[Mapping] = None,
                           video_cfg: Optional[Mapping] = None,
                           interactive_test_cfg: Optional[Mapping] = None) -> Iterator[None]:
        """Other inference settings for the duration of a ``with`` block: ``test_cfg`` keys
        update the post-processor's (``panoptic_on``, ``instance_on``, ...), ``video_cfg``
        keys the video settings and ``interactive_test_cfg`` the prompt settings. Used by
        ``Predictor`` (tasks of one call), ``MultiTaskTestLoop`` (each dataset with its own
        eval settings) and the reference harness."""
        previous = (self.postprocessor.cfg, self.video_cfg, self.interactive_test_cfg)
        try:
            if test_cfg:
                self.postprocessor.cfg = self.postprocessor.cfg.updated(test_cfg)
            if video_cfg:
                self.video_cfg = VideoInferenceConfig.build(
                    {**dataclasses.asdict(self.video_cfg), **dict(video_cfg)})
            if interactive_test_cfg:
                self.interactive_test_cfg = PromptTestConfig.build(
                    {**dataclasses.asdict(self.interactive_test_cfg),
                     **dict(interactive_test_cfg)})
            yield
        finally:
            self.postprocessor.cfg, self.video_cfg, self.interactive_test_cfg = previous

    # ------------------------------------------------------------------ features
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Backbone maps at strides 4, 8, 16, 32 (frames folded into the batch for clips)."""
        return list(self.backbone(inputs))

    def image_features(self, inputs: Tensor) -> ImageFeatures:
        """Backbone and pixel-decoder features of (B, 3, H, W) images: everything a decoder
        pass on these images needs, computed once."""
        backbone = self.extract_feat(inputs)
        mask_features, memories = self.panoptic_head.pixel_decoder(backbone)
        return ImageFeatures(backbone, mask_features, list(memories),
                             tuple(inputs.shape[-2:]))

    # ------------------------------------------------------------------ MMEngine modes
    def forward(self, inputs: Tensor, data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list, DecoderOutput]:
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'invalid mode "{mode}": expected "loss", "predict" or "tensor"')
        self._require_vocabulary()
        kind = 'clip' if data_samples is None and inputs.dim() == 5 else batch_kind(
            data_samples or ())
        task = self._task(kind)
        if mode == 'loss':
            # Parameters a batch kind does not use (the semantic queries on prompt batches, the
            # prompt encoder on the others) get no gradient at all, so the optimiser leaves
            # them alone; DDP needs find_unused_parameters=True for them (runner_setup checks).
            return task.loss(inputs, data_samples)
        if mode == 'tensor':
            return task.tensor(inputs, data_samples)
        return self.predict(inputs, data_samples)

    def loss(self, inputs: Tensor, data_samples: List[SegDataSample]) -> Dict[str, Tensor]:
        return self.forward(inputs, data_samples, mode='loss')

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: List[SegDataSample],
                rescale: bool = True) -> List[SegDataSample]:
        self._require_vocabulary()
        kind = batch_kind(data_samples)
        if kind == 'clip':
            return self.tasks['clip'].predict(inputs, data_samples, rescale=rescale)
        features = self.image_features(inputs)
        if kind == 'prompt':
            if self.interactive_test_cfg.with_panoptic:
                return self.predict_image_and_prompts(features, data_samples, rescale=rescale)
            return self.predict_prompts(features, data_samples, rescale=rescale)
        return self.predict_image(features, data_samples, rescale=rescale)

    def _task(self, kind: str):
        if kind not in self.tasks:
            raise ValueError('this model has no prompt encoder (model.prompt_encoder=None): '
                             'point / box prompt batches need a model built with one')
        return self.tasks[kind]

    # ------------------------------------------------------------------ public inference
    @torch.no_grad()
    def predict_image(self, features: ImageFeatures, data_samples: Sequence,
                      rescale: bool = True) -> List:
        """Panoptic / instance / semantic results (as ``test_cfg`` switches them) of images
        whose :meth:`image_features` are given; fills and returns ``data_samples``."""
        self._require_vocabulary()
        return self.tasks['image'].predict_features(features, data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_prompts(self, features: ImageFeatures, data_samples: Sequence,
                        rescale: bool = True) -> List:
        """One labelled mask per prompt (``data_samples[i].prompts``, pixels of the network
        input) of images whose :meth:`image_features` are given; fills ``pred_prompts``."""
        self._require_vocabulary()
        return self._task('prompt').predict_features(features, data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_image_and_prompts(self, features: ImageFeatures, data_samples: Sequence,
                                  rescale: bool = True) -> List:
        """:meth:`predict_image` and :meth:`predict_prompts` from one decoder pass (semantic
        queries and prompt queries side by side, neither seeing the other)."""
        self._require_vocabulary()
        self._task('prompt')  # a clear error for models without a prompt encoder
        return self.image_prompt_task.predict_features(features, data_samples, rescale=rescale)

    @torch.no_grad()
    def predict_video(self, frames, frame_samples: Sequence,
                      on_frame: Callable[[int, Dict], None],
                      video_cfg: Optional[Mapping] = None) -> Dict[str, object]:
        """Segment one video, read lazily: ``frames`` is a (T, 3, H, W) tensor or a callable
        returning frames [start, stop) (normalised, padded). ``on_frame(t, outputs)`` gets
        each frame's results in order; returns the video-level summary (tracks). ``video_cfg``
        keys override the model's video settings for this call."""
        self._require_vocabulary()
        cfg = self.video_cfg if not video_cfg else VideoInferenceConfig.build(
            {**dataclasses.asdict(self.video_cfg), **dict(video_cfg)})
        return self.tasks['clip'].run_video(frames, frame_samples, on_frame, cfg)
