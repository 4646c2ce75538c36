"""Resolving a segmentor's vocabulary: class-name files and text embeddings (file I/O, possibly
the CLIP text tower), kept out of the model constructor.

``build_segmentor(cfg)`` = ``MODELS.build(cfg)`` + :func:`load_configured_vocabulary`; the
runner does the same through ``VocabularyCheckHook.before_run``, ``Predictor.from_config``
through ``build_segmentor``.
"""
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import torch

from seg.registry import MODELS
from seg.utils.config_keys import check_known_keys
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.runtime_vocabulary import vocabulary_from_names
from seg.vocab.text_embeddings import embedding_file_path, get_or_create_text_embeddings

TEXT_EMBEDDING_KEYS = ('file', 'cache_dir', 'generate_if_missing')


def _text_embeddings(model, vocabulary: Vocabulary, file: Optional[str],
                     generate_if_missing: bool) -> torch.Tensor:
    cfg = dict(model.text_embeddings_cfg)
    check_known_keys(cfg, TEXT_EMBEDDING_KEYS, 'text_embeddings')
    backbone = model.backbone
    path = file or embedding_file_path(backbone.model_name, vocabulary.name,
                                       cfg.get('cache_dir'))
    return get_or_create_text_embeddings(
        path, list(vocabulary.classes), backbone.get_text_encoder,
        generate_if_missing=generate_if_missing, model_name=backbone.model_name,
        config_hint=model.config_path)


def load_configured_vocabulary(model) -> Vocabulary:
    """Build the model's configured vocabulary (``model.vocabulary_cfg``), load (or, when
    ``text_embeddings.generate_if_missing``, generate) its text embeddings and install both;
    also reads the open-vocabulary fusion's training vocabularies."""
    cfg = model.vocabulary_cfg
    vocabulary = cfg if isinstance(cfg, Vocabulary) else Vocabulary.build(cfg)
    settings = model.text_embeddings_cfg
    embeddings = _text_embeddings(model, vocabulary, settings.get('file'),
                                  bool(settings.get('generate_if_missing', False)))
    model.set_class_embeddings(vocabulary, embeddings)
    if model.open_vocab is not None:
        model.open_vocab.load_train_classes()
    return vocabulary


def load_runtime_vocabulary(model, names: Union[Vocabulary, Sequence[str], str, Path],
                            stuff_classes: Sequence[str] = (), name: Optional[str] = None
                            ) -> Tuple[Vocabulary, torch.Tensor]:
    """A vocabulary given at run time (names, a names file or a ``Vocabulary``) and its text
    embeddings, always generated on demand with the backbone's text tower and cached under the
    vocabulary's own name (``text_embeddings.file`` is the configured vocabulary's)."""
    vocabulary = (names if isinstance(names, Vocabulary)
                  else vocabulary_from_names(names, stuff_classes, name))
    return vocabulary, _text_embeddings(model, vocabulary, None, True)


def build_segmentor(cfg: dict):
    """Build a model config and install its configured vocabulary: a model ready to train or
    predict (``MODELS.build`` alone gives one without class embeddings)."""
    model = MODELS.build(cfg)
    if hasattr(model, 'vocabulary_cfg'):
        load_configured_vocabulary(model)
    return model
