"""The top model: frozen CLIP backbone + shared mask decoder + post-processing.

Follows the mmdet ``BaseDetector`` contract: ``forward(inputs, data_samples, mode)`` with
``mode='loss'`` (dict of losses), ``'predict'`` (data samples carrying ``pred_panoptic_seg``,
``pred_instances`` and ``pred_sem_seg``) and ``'tensor'`` (every prediction's class and mask
logits, no post-processing). Batches whose samples carry ``prompts`` are location-prompt
batches (``seg.models.prompting``: paired mask losses, ``pred_prompts``).
"""
import copy
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel

from seg.registry import MODELS
from seg.structures import SegDataSample, is_clip_batch
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.merge import merge_vocabularies
from seg.vocab.runtime_vocabulary import vocabulary_from_names
from seg.vocab.text_embeddings import embedding_file_path, get_or_create_text_embeddings
from .heads.panoptic_targets import panoptic_targets
from .heads.prompt_queries import PromptEncoder
from .postprocess.open_vocab import OpenVocabFusion
from .prompting import (InteractiveTestConfig, is_prompt_batch, prompt_loss, prompt_predict,
                        prompt_queries)
from .video import VideoInferenceConfig, clip_loss, clip_predict, clip_tensor_forward


@MODELS.register_module()
class OMGSegmentor(BaseModel):
    """OMG-Seg image segmentor.

    Args:
        backbone: ``OpenCLIPBackbone`` config.
        panoptic_head: ``OMGHead`` config; ``in_channels``, class counts and the CLIP
            dimension are filled in from the backbone and the vocabulary.
        panoptic_fusion_head: ``OMGFusionHead`` config (class counts filled in).
        vocabulary: see :meth:`Vocabulary.build`.
        text_embeddings: ``file`` (explicit path) or ``cache_dir`` (default:
            ``$OMGSEG_CACHE/embeddings``), and ``generate_if_missing`` (build the file from the
            backbone's text tower when absent or made for other class names).
        config_path: shown in the "run gen_cls" message when the embedding file is missing.
        train_cfg / test_cfg: passed to the head (training) and the fusion head (test).
        video_cfg: video test settings (:class:`VideoInferenceConfig`). Clip batches
            (``TrackSegDataSample``, inputs (B, T, 3, H, W)) go through
            ``seg.models.video`` in every mode.
        prompt_encoder: :class:`PromptEncoder` settings (point radius, point type embedding,
            training jitter). Batches whose samples carry ``prompts`` go through
            ``seg.models.prompting`` (needs ``panoptic_head.enable_prompt_queries=True``).
        interactive_test_cfg: :class:`InteractiveTestConfig` (click protocol at test time).
        open_vocab: CLIP ensemble settings (:class:`OpenVocabFusion`: ``enabled``, ``alpha``,
            ``beta``, ``seen_flags`` or ``seen_vocabularies``); None = decoder classes only.
    """

    def __init__(self, backbone: dict, panoptic_head: dict, vocabulary: dict,
                 panoptic_fusion_head: Optional[dict] = None,
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
        self.vocabulary = Vocabulary.build(vocabulary)
        self.backbone = MODELS.build(backbone)

        head_cfg = copy.deepcopy(dict(panoptic_head))
        head_cfg.update(in_channels=list(self.backbone.out_channels),
                        num_things_classes=self.vocabulary.num_things,
                        num_stuff_classes=self.vocabulary.num_stuff,
                        clip_embed_dim=self.backbone.embed_dim,
                        train_cfg=train_cfg, test_cfg=test_cfg)
        self.panoptic_head = MODELS.build(head_cfg)

        fusion_cfg = copy.deepcopy(dict(panoptic_fusion_head or dict(type='OMGFusionHead')))
        fusion_cfg.update(num_things_classes=self.vocabulary.num_things,
                          num_stuff_classes=self.vocabulary.num_stuff, test_cfg=test_cfg)
        self.panoptic_fusion_head = MODELS.build(fusion_cfg)

        self.video_cfg = VideoInferenceConfig.build(video_cfg)
        self.prompt_encoder = PromptEncoder(**(prompt_encoder or {}))
        self.interactive_test_cfg = InteractiveTestConfig.build(interactive_test_cfg)
        self.open_vocab = OpenVocabFusion.from_config(open_vocab)
        self.text_embeddings_cfg = dict(text_embeddings or {})
        self.config_path = config_path
        self.set_vocabulary_embeddings()

    @property
    def num_classes(self) -> int:
        return len(self.vocabulary.classes)

    def set_vocabulary_embeddings(self, runtime: bool = False) -> None:
        """Load (or generate, when the config allows) the text embeddings of the vocabulary.

        ``runtime``: a vocabulary set by :meth:`set_vocabulary`: its embeddings are always
        generated on demand and cached under its own name (``text_embeddings.file`` is the
        configured vocabulary's).
        """
        cfg = dict(self.text_embeddings_cfg)
        unknown = set(cfg) - {'file', 'cache_dir', 'generate_if_missing'}
        if unknown:
            raise KeyError(f'unknown text_embeddings keys: {sorted(unknown)}')
        path = (None if runtime else cfg.get('file')) or embedding_file_path(
            self.backbone.model_name, self.vocabulary.name, cfg.get('cache_dir'))
        embeddings = get_or_create_text_embeddings(
            path, list(self.vocabulary.classes), self.backbone.get_text_encoder,
            generate_if_missing=runtime or bool(cfg.get('generate_if_missing', False)),
            model_name=self.backbone.model_name, config_hint=self.config_path)
        self.panoptic_head.text_classifier.set_embeddings(embeddings)

    def set_vocabulary(self, names: Union[Vocabulary, Sequence[str], str, Path],
                       stuff_classes: Sequence[str] = (),
                       name: Optional[str] = None) -> Vocabulary:
        """Predict with another vocabulary (inference only): a :class:`Vocabulary`, a list of
        thing names (+ ``stuff_classes``) or a names file (see ``seg.vocab.runtime_vocabulary``).
        Its text embeddings are computed with the backbone's text tower and cached."""
        vocabulary = (names if isinstance(names, Vocabulary)
                      else vocabulary_from_names(names, stuff_classes, name))
        self._install_vocabulary(vocabulary)
        self.set_vocabulary_embeddings(runtime=True)
        return vocabulary

    def select_vocabulary(self, vocabulary: Vocabulary) -> None:
        """Predict with ``vocabulary``, every class of which names a class of the current one
        (matched by synonym, things with things, stuff with stuff, as vocabularies are merged):
        the matched text prototypes are reused, so no text tower is needed. Used to evaluate a
        jointly trained model on each dataset in the dataset's own label space."""
        merged = merge_vocabularies([self.vocabulary, vocabulary])
        missing = [name for name in merged.vocabulary.classes
                   if name not in self.vocabulary.classes]
        if missing:
            raise ValueError(f'vocabulary {vocabulary.name!r} has classes the model vocabulary '
                             f'{self.vocabulary.name!r} does not name: {missing[:10]}; use '
                             'set_vocabulary() to embed new names with the text tower')
        current = self.panoptic_head.text_classifier.cls_embed  # (D, K + 1, P)
        rows = torch.as_tensor(merged.label_maps[1], device=current.device)
        self._install_vocabulary(vocabulary)
        self.panoptic_head.text_classifier.set_embeddings(current[:, rows].permute(1, 2, 0))

    @contextmanager
    def selected_vocabulary(self, vocabulary: Vocabulary) -> Iterator[None]:
        """:meth:`select_vocabulary` for the duration of a ``with`` block, then the previous
        vocabulary and prototypes again."""
        previous = self.vocabulary
        prototypes = self.panoptic_head.text_classifier.cls_embed
        self.select_vocabulary(vocabulary)
        try:
            yield
        finally:
            self._install_vocabulary(previous)
            self.panoptic_head.text_classifier.cls_embed = prototypes

    @contextmanager
    def test_settings(self, test_cfg: Optional[dict] = None, video_cfg: Optional[dict] = None,
                      interactive_test_cfg: Optional[dict] = None) -> Iterator[None]:
        """Other inference settings for the duration of a ``with`` block: ``test_cfg`` keys
        update the fusion head's (``panoptic_on``, ``instance_on``, ...), ``video_cfg`` and
        ``interactive_test_cfg`` replace the model's. Used to test one model on several tasks
        in one run (each dataset with the settings of its own eval config)."""
        fusion = self.panoptic_fusion_head
        previous = (dict(fusion.test_cfg), self.video_cfg, self.interactive_test_cfg)
        if test_cfg:
            unknown = sorted(set(test_cfg) - set(fusion.test_cfg))
            if unknown:
                raise KeyError(f'unknown test_cfg keys {unknown}; allowed '
                               f'{sorted(fusion.test_cfg)}')
            fusion.test_cfg = {**fusion.test_cfg, **test_cfg}
        if video_cfg is not None:
            self.video_cfg = VideoInferenceConfig.build(video_cfg)
        if interactive_test_cfg is not None:
            self.interactive_test_cfg = InteractiveTestConfig.build(interactive_test_cfg)
        try:
            yield
        finally:
            fusion.test_cfg, self.video_cfg, self.interactive_test_cfg = previous

    def _install_vocabulary(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        for module in (self.panoptic_head, self.panoptic_fusion_head):
            module.num_things_classes = vocabulary.num_things
            module.num_stuff_classes = vocabulary.num_stuff
            module.num_classes = len(vocabulary.classes)

    def open_vocab_logits(self, feats: List[torch.Tensor], mask_cls: torch.Tensor,
                          mask_pred: torch.Tensor, num_frames: int = 0) -> torch.Tensor:
        """``mask_cls`` fused with CLIP's classification when ``open_vocab`` is enabled."""
        if self.open_vocab is None:
            return mask_cls
        return self.open_vocab(self.backbone, self.panoptic_head.text_classifier,
                               self.vocabulary.classes, feats[-1], mask_cls, mask_pred,
                               num_frames=num_frames)

    # ------------------------------------------------------------------ features
    def extract_feat(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """Backbone maps at strides 4, 8, 16, 32 (frames folded into the batch for clips)."""
        return list(self.backbone(inputs))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], list]:
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise ValueError(f'invalid mode "{mode}": expected "loss", "predict" or "tensor"')

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> Dict[str, List[torch.Tensor]]:
        """Every prediction's class logits (B, Q, K+1), objectness (B, Q, 1) and mask logits
        (B, Q, H/4, W/4), query initialisation first."""
        if is_clip_batch(data_samples):
            return clip_tensor_forward(self, inputs)
        queries = (prompt_queries(self, data_samples, self.training)[0]
                   if is_prompt_batch(data_samples) else None)
        cls_preds, mask_preds, _ = self.panoptic_head(self.extract_feat(inputs), queries=queries)
        return dict(cls_preds=[c[..., :-1] for c in cls_preds],
                    objectness=[c[..., -1:] for c in cls_preds], mask_preds=mask_preds)

    # ------------------------------------------------------------------ train
    def loss(self, inputs: torch.Tensor, data_samples: List[SegDataSample]
             ) -> Dict[str, torch.Tensor]:
        if is_clip_batch(data_samples):
            return clip_loss(self, inputs, data_samples)
        if is_prompt_batch(data_samples):
            return prompt_loss(self, inputs, data_samples)
        feats = self.extract_feat(inputs)
        targets = []
        for sample in data_samples:
            if 'gt_instances' not in sample:
                raise KeyError(f'training sample {sample.metainfo.get("img_path")} has no '
                               'gt_instances: the pipeline must load annotations')
            sem_seg = sample.gt_sem_seg.sem_seg if 'gt_sem_seg' in sample else None
            labels, masks = panoptic_targets(
                sample.gt_instances.labels, sample.gt_instances.masks, sem_seg,
                self.vocabulary.num_things, self.vocabulary.num_stuff)
            targets.append(dict(labels=labels.to(inputs.device), masks=masks.to(inputs.device)))
        return self.panoptic_head.loss(feats, targets)

    # ------------------------------------------------------------------ test
    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: List[SegDataSample],
                rescale: bool = True) -> List[SegDataSample]:
        if is_clip_batch(data_samples):
            return clip_predict(self, inputs, data_samples)
        feats = self.extract_feat(inputs)
        if is_prompt_batch(data_samples):
            prompt_predict(self, feats, data_samples, rescale=rescale)
            if not self.interactive_test_cfg.with_panoptic:
                return data_samples
        batch_input_shape = data_samples[0].metainfo.get('batch_input_shape', inputs.shape[-2:])
        outputs = self.panoptic_head.predict(feats, batch_input_shape)
        outputs['mask_cls'] = self.open_vocab_logits(feats, outputs['mask_cls'],
                                                     outputs['mask_pred'])
        results = self.panoptic_fusion_head.predict(
            outputs['mask_cls'], outputs['mask_pred'], data_samples, rescale=rescale)
        for sample, result in zip(data_samples, results):
            if 'pan_results' in result:
                sample.pred_panoptic_seg = result['pan_results']
            if 'ins_results' in result:
                sample.pred_instances = result['ins_results']
            if 'sem_results' in result:
                sample.pred_sem_seg = result['sem_results']
        return data_samples
