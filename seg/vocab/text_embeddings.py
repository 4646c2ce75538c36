"""CLIP text embeddings of a class vocabulary: generation, file cache and checked loading.

A classifier file holds a (K, P, D) float32 tensor: K classes, P = the largest synonym count
(classes with fewer synonyms repeat their first one), D = CLIP dim; every vector has unit norm.
Each synonym's vector is the normalised mean of its normalised template embeddings (as the
reference's ``tools/gen_cls.py``). Files written here are dicts (tensor + class names + model
name); the reference's bare tensor files load as well.
"""
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from seg.utils import embedding_cache_dir
from .synonyms import class_synonyms, split_synonyms
from .templates import VILD_TEMPLATES, check_templates

TextEncoder = Callable[[List[str]], torch.Tensor]
PathLike = Union[str, os.PathLike]

EMBEDDING_FILE_FORMAT = 'omgseg-text-embeddings/1'
_UNIT_NORM_TOLERANCE = 1e-3


def generate_text_embeddings(text_encoder: TextEncoder,
                             class_names: Sequence[str],
                             templates: Sequence[str] = VILD_TEMPLATES,
                             batch_size: int = 256,
                             progress: bool = True) -> torch.Tensor:
    """Encode every synonym of every class with every template -> (K, P, D) float32 on the CPU.

    Args:
        text_encoder: callable mapping a list of N strings to an (N, D) tensor.
        class_names: class entries, synonyms separated as in :mod:`seg.vocab.synonyms`.
        templates: prompt templates with one ``{}`` each.
        batch_size: prompts per encoder call.
        progress: print a progress bar over the prompts.
    """
    templates = check_templates(templates)
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    synonyms_per_class = class_synonyms(class_names)
    unique_synonyms = list(dict.fromkeys(s for synonyms in synonyms_per_class for s in synonyms))
    prompts = [template.format(synonym) for synonym in unique_synonyms for template in templates]

    bar = ProgressBar(len(prompts), file=sys.stdout) if progress else None
    chunks = []
    for start in range(0, len(prompts), batch_size):
        batch = prompts[start:start + batch_size]
        encoded = text_encoder(batch)
        is_tensor = isinstance(encoded, torch.Tensor)
        if not is_tensor or encoded.dim() != 2 or encoded.shape[0] != len(batch):
            got = tuple(encoded.shape) if is_tensor else type(encoded).__name__
            raise ValueError(f'text encoder must return an ({len(batch)}, D) tensor for '
                             f'{len(batch)} prompts, got {got}')
        chunks.append(F.normalize(encoded.detach().float().cpu(), dim=-1))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.file.write('\n')

    per_template = torch.cat(chunks).reshape(len(unique_synonyms), len(templates), -1)
    synonym_embeddings = F.normalize(per_template.mean(dim=1), dim=-1)
    row_of = {synonym: row for row, synonym in enumerate(unique_synonyms)}
    max_synonyms = max(len(synonyms) for synonyms in synonyms_per_class)
    rows = [[row_of[s] for s in synonyms] + [row_of[synonyms[0]]] * (max_synonyms - len(synonyms))
            for synonyms in synonyms_per_class]
    return synonym_embeddings[torch.tensor(rows)]


def embedding_file_path(model_name: str,
                        dataset_name: str,
                        cache_dir: Optional[PathLike] = None) -> Path:
    """``<cache_dir>/<model_name>_<dataset_name>.pth``; ``cache_dir`` defaults to
    :func:`seg.utils.embedding_cache_dir` (``$OMGSEG_CACHE/embeddings``)."""
    for what, value in (('model_name', model_name), ('dataset_name', dataset_name)):
        if not value or '/' in value or '\\' in value:
            raise ValueError(f'{what} {value!r} must be a non-empty name without path separators')
    folder = Path(cache_dir).expanduser() if cache_dir is not None else embedding_cache_dir()
    return folder / f'{model_name}_{dataset_name}.pth'


def gen_cls_command(path: PathLike, config_hint: Optional[str] = None) -> str:
    """The ``tools/gen_cls.py`` command line that writes the embedding file ``path``."""
    command = f'python tools/gen_cls.py {config_hint or "CONFIG"}'
    if Path(path).expanduser().parent != embedding_cache_dir():
        command += f' --out {path}'
    return command


def save_text_embeddings(path: PathLike, embeddings: torch.Tensor, class_names: Sequence[str],
                         model_name: Optional[str]) -> Path:
    """Write ``embeddings`` (K, P, D) with class names and model name; atomic (temp + rename)."""
    _check_embeddings(embeddings, path)
    if len(class_names) != embeddings.shape[0]:
        raise ValueError(
            f'{path}: {embeddings.shape[0]} embedding rows for {len(class_names)} class names')
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    content = dict(format=EMBEDDING_FILE_FORMAT,
                   embeddings=embeddings.detach().float().cpu(),
                   class_names=list(class_names),
                   model_name=model_name)
    handle, tmp_name = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.tmp', dir=target.parent)
    try:
        with os.fdopen(handle, 'wb') as tmp_file:
            torch.save(content, tmp_file)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def load_text_embeddings(path: PathLike,
                         class_names: Optional[Sequence[str]] = None,
                         num_classes: Optional[int] = None,
                         config_hint: Optional[str] = None,
                         model_name: Optional[str] = None) -> torch.Tensor:
    """Read a (K, P, D) classifier file and check it against what the model expects.

    Args:
        path: the embedding file.
        class_names: expected class entries (checked against the names stored in the file;
            reference files store none, then only their count is checked).
        num_classes: expected K.
        config_hint: config path put in the "run this" message of a missing file.
        model_name: expected CLIP model, checked when the file records one.

    Raises:
        FileNotFoundError: no file; the message names the ``tools/gen_cls.py`` command to run.
        ValueError: unreadable file, wrong layout, class count / names / model mismatch, or
            vectors that are not unit-norm.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f'text-embedding file {file} not found; generate it with: '
                                f'{gen_cls_command(file, config_hint)}')
    try:
        content = torch.load(file, map_location='cpu', weights_only=True)
    except Exception as err:  # any reader error means a damaged or foreign file
        raise ValueError(f'cannot read text-embedding file {file}: {err}') from err

    stored_names = stored_model = None
    if isinstance(content, dict):
        if 'embeddings' not in content:
            raise ValueError(f'text-embedding file {file} has no "embeddings" entry '
                             f'(keys: {sorted(content)})')
        embeddings = content['embeddings']
        stored_names = content.get('class_names')
        stored_model = content.get('model_name')
    else:
        embeddings = content
    _check_embeddings(embeddings, file)

    expected_count = len(class_names) if class_names is not None else num_classes
    if class_names is not None and num_classes is not None and len(class_names) != num_classes:
        raise ValueError(f'{len(class_names)} class names given but num_classes={num_classes}')
    if expected_count is not None and embeddings.shape[0] != expected_count:
        raise ValueError(
            f'text-embedding file {file} holds {embeddings.shape[0]} classes, the model expects '
            f'{expected_count}; regenerate it with: {gen_cls_command(file, config_hint)}')
    # Names that normalise to the same synonyms give the same embeddings.
    names_differ = (class_names is not None and stored_names is not None
                    and class_synonyms(stored_names) != class_synonyms(class_names))
    if names_differ:
        index = next((i for i, (a, b) in enumerate(zip(stored_names, class_names))
                      if split_synonyms(a) != split_synonyms(b)),
                     min(len(stored_names), len(class_names)) - 1)
        raise ValueError(
            f'text-embedding file {file} was made for other classes: class {index} is '
            f'{_name_at(stored_names, index)!r} in the file, {_name_at(class_names, index)!r} '
            f'expected ({len(stored_names)} names in the file, {len(class_names)} expected); '
            f'regenerate it with: {gen_cls_command(file, config_hint)}')
    if model_name is not None and stored_model is not None and stored_model != model_name:
        raise ValueError(
            f'text-embedding file {file} was made with CLIP model {stored_model!r}, the model uses '
            f'{model_name!r}')
    return embeddings.float()


def get_or_create_text_embeddings(path: PathLike,
                                  class_names: Sequence[str],
                                  text_encoder_factory: Callable[[], TextEncoder],
                                  generate_if_missing: bool = False,
                                  *,
                                  model_name: Optional[str] = None,
                                  config_hint: Optional[str] = None,
                                  templates: Sequence[str] = VILD_TEMPLATES,
                                  batch_size: int = 256) -> torch.Tensor:
    """Load the classifier file, or (``generate_if_missing``) generate and cache it first.

    With ``generate_if_missing`` a file made for other class names (e.g. the dataset folder was
    replaced) is regenerated too, with a warning. ``text_encoder_factory`` is only called when
    the file has to be written, so the text tower is built only then.
    """
    file = Path(path).expanduser()
    if not generate_if_missing:
        return load_text_embeddings(file,
                                    class_names=class_names,
                                    config_hint=config_hint,
                                    model_name=model_name)
    if file.is_file():
        try:
            return load_text_embeddings(file, class_names=class_names, model_name=model_name)
        except ValueError as err:
            print_log(f'regenerating the text embeddings: {err}',
                      logger='current',
                      level=logging.WARNING)
    else:
        print_log(f'text-embedding file {file} not found; generating it', logger='current')
    text_encoder = text_encoder_factory()
    embeddings = generate_text_embeddings(text_encoder,
                                          class_names,
                                          templates=templates,
                                          batch_size=batch_size)
    encoder_model = model_name or getattr(text_encoder, 'model_name', None)
    save_text_embeddings(file, embeddings, class_names, encoder_model)
    print_log(f'text embeddings {tuple(embeddings.shape)} written to {file}', logger='current')
    return embeddings


def _check_embeddings(embeddings: object, path: PathLike) -> None:
    if not isinstance(embeddings, torch.Tensor) or embeddings.dim() != 3:
        is_tensor = isinstance(embeddings, torch.Tensor)
        shape = tuple(embeddings.shape) if is_tensor else type(embeddings).__name__
        raise ValueError(f'text-embedding file {path}: expected a (K, P, D) tensor, got {shape}')
    if not embeddings.is_floating_point():
        raise ValueError(f'text-embedding file {path}: expected floats, got {embeddings.dtype}')
    norms = embeddings.float().norm(dim=-1)
    worst = (norms - 1).abs().max().item() if norms.numel() else 0.0
    if not worst <= _UNIT_NORM_TOLERANCE:
        raise ValueError(
            f'text-embedding file {path}: vectors must have unit norm, the farthest is off by '
            f'{worst:.3g}')


def _name_at(names: Sequence[str], index: int) -> Optional[str]:
    return names[index] if 0 <= index < len(names) else None
