"""The top model: frozen CLIP backbone + shared mask decoder + post-processing.

Follows the mmdet ``BaseDetector`` contract: ``forward(inputs, data_samples, mode)`` with
``mode='loss'`` (dict of losses), ``'predict'`` (data samples carrying ``pred_panoptic_seg``,
``pred_instances`` and ``pred_sem_seg``) and ``'tensor'`` (every prediction's class and mask
logits, no post-processing).
"""
import copy
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel

from seg.registry import MODELS
from seg.structures import SegDataSample
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.text_embeddings import embedding_file_path, get_or_create_text_embeddings
from .heads.panoptic_targets import panoptic_targets


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
    """

    def __init__(self, backbone: dict, panoptic_head: dict, vocabulary: dict,
                 panoptic_fusion_head: Optional[dict] = None,
                 text_embeddings: Optional[dict] = None,
                 config_path: Optional[str] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
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

        self.text_embeddings_cfg = dict(text_embeddings or {})
        self.config_path = config_path
        self.set_vocabulary_embeddings()

    @property
    def num_classes(self) -> int:
        return len(self.vocabulary.classes)

    def set_vocabulary_embeddings(self) -> None:
        """Load (or generate, when the config allows) the text embeddings of the vocabulary."""
        cfg = dict(self.text_embeddings_cfg)
        unknown = set(cfg) - {'file', 'cache_dir', 'generate_if_missing'}
        if unknown:
            raise KeyError(f'unknown text_embeddings keys: {sorted(unknown)}')
        path = cfg.get('file') or embedding_file_path(
            self.backbone.model_name, self.vocabulary.name, cfg.get('cache_dir'))
        embeddings = get_or_create_text_embeddings(
            path, list(self.vocabulary.classes), self.backbone.get_text_encoder,
            generate_if_missing=bool(cfg.get('generate_if_missing', False)),
            model_name=self.backbone.model_name, config_hint=self.config_path)
        self.panoptic_head.text_classifier.set_embeddings(embeddings)

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
        cls_preds, mask_preds, _ = self.panoptic_head(self.extract_feat(inputs))
        return dict(cls_preds=[c[..., :-1] for c in cls_preds],
                    objectness=[c[..., -1:] for c in cls_preds], mask_preds=mask_preds)

    # ------------------------------------------------------------------ train
    def loss(self, inputs: torch.Tensor, data_samples: List[SegDataSample]
             ) -> Dict[str, torch.Tensor]:
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
        feats = self.extract_feat(inputs)
        batch_input_shape = data_samples[0].metainfo.get('batch_input_shape', inputs.shape[-2:])
        outputs = self.panoptic_head.predict(feats, batch_input_shape)
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
