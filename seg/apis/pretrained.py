"""Released models by name: the model index, download through the Hugging Face hub, conversion
once, and the cached converted checkpoint (``Predictor.from_pretrained``).

    predictor = Predictor.from_pretrained('omg-seg-convl')            # name from the index
    predictor = Predictor.from_pretrained('omg_seg_convl.pth')        # a local published file
    predictor = Predictor.from_pretrained('omg-seg-convl', revision='<commit>', device='cpu')

A name is looked up in the model index (``configs/model-index.yml``, shipped with the configs;
``python -m seg.models list`` prints it). Its file comes from ``huggingface_hub.hf_hub_download``,
which keeps it in the hub cache (``HF_HUB_CACHE``) and honours ``HF_HUB_OFFLINE=1`` (cached files
only) and ``revision``. The published file is converted to this code base's layout
(``seg.checkpoint.convert_checkpoint``: every entry mapped, dropped with a reason or reported;
loads with ``strict=True``) once, and the result is kept under
``$OMGSEG_CACHE/checkpoints`` (default ``~/.cache/omgseg/checkpoints``), named after the source
file and a key of the source (path, size, modification time) and of the model's weight-holding
config (backbone, head, prompt encoder): a later call, or another config of the same model,
reuses it; a changed file or model converts again.
"""
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from seg.checkpoint import CONVERTED_FORMAT, convert_checkpoint
from seg.utils.paths import checkpoint_cache_dir, model_index_path, resolve_data_path

PathLike = Union[str, os.PathLike]
# The parts of a model config that decide which weights the model holds (the converted file
# fits every config that agrees on them; vocabulary and test settings do not matter).
WEIGHT_CONFIG_KEYS = ('backbone', 'panoptic_head', 'prompt_encoder')


@dataclass(frozen=True)
class ModelEntry:
    """One released model of the model index."""
    name: str
    config: str  # relative to the package files (configs/...)
    hub_repo: str  # Hugging Face repository, e.g. 'LXT/OMG_Seg'
    file: str  # file name in that repository
    description: str = ''
    url: str = ''
    task_configs: Dict[str, str] = field(default_factory=dict)
    reported: Dict[str, Any] = field(default_factory=dict)
    measured_speed: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelIndex:
    """The model index: entries by name and the index-wide notes on reported numbers."""
    path: Path
    models: Dict[str, ModelEntry]
    reported_notes: List[Dict[str, str]] = field(default_factory=list)

    def get(self, name: str) -> ModelEntry:
        if name not in self.models:
            raise KeyError(f'{name!r} is not in the model index {self.path} (known: '
                           f'{", ".join(sorted(self.models))})')
        return self.models[name]


def _required(entry: Mapping, key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ''):
        raise ValueError(f'{where}: missing {key!r}')
    return entry[key]


def load_model_index(path: Optional[PathLike] = None) -> ModelIndex:
    """Read and check the model index (default: the shipped ``configs/model-index.yml``)."""
    import yaml
    file = Path(path) if path is not None else model_index_path()
    if not file.is_file():
        raise FileNotFoundError(f'model index not found: {file}')
    content = yaml.safe_load(file.read_text(encoding='utf-8'))
    if not isinstance(content, dict) or not isinstance(content.get('models'), list):
        raise ValueError(f'{file}: expected a mapping with a "models" list')
    models: Dict[str, ModelEntry] = {}
    for number, entry in enumerate(content['models']):
        where = f'{file}: models[{number}]'
        if not isinstance(entry, dict):
            raise ValueError(f'{where}: expected a mapping, got {type(entry).__name__}')
        name = str(_required(entry, 'name', where))
        where = f'{file}: model {name!r}'
        weights = _required(entry, 'weights', where)
        if not isinstance(weights, dict):
            raise ValueError(f'{where}: "weights" must be a mapping (hub_repo, file)')
        if name in models:
            raise ValueError(f'{where}: the name is given twice')
        known = {'name', 'config', 'weights', 'description', 'task_configs', 'reported',
                 'measured_speed'}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f'{where}: unknown keys {unknown} (known: {sorted(known)})')
        models[name] = ModelEntry(
            name=name, config=str(_required(entry, 'config', where)),
            hub_repo=str(_required(weights, 'hub_repo', where + ': weights')),
            file=str(_required(weights, 'file', where + ': weights')),
            description=str(entry.get('description') or ''), url=str(weights.get('url') or ''),
            task_configs=dict(entry.get('task_configs') or {}),
            reported=dict(entry.get('reported') or {}),
            measured_speed=dict(entry.get('measured_speed') or {}))
    return ModelIndex(file, models, list(content.get('reported_notes') or []))


def download_published(entry: ModelEntry, revision: Optional[str] = None,
                       cache_dir: Optional[PathLike] = None) -> Path:
    """The entry's published file from the Hugging Face hub (downloaded once into the hub
    cache; ``HF_HUB_OFFLINE=1`` uses the cached copy only)."""
    from huggingface_hub import hf_hub_download
    return Path(hf_hub_download(entry.hub_repo, entry.file, revision=revision,
                                cache_dir=None if cache_dir is None else str(cache_dir)))


def _is_converted(path: Path) -> bool:
    """Whether ``path`` is a checkpoint written by this converter (then it is used as is).
    Converted files always load with ``weights_only=True``; a file that does not (published
    files hold foreign objects) goes to the converter, which reads it safely."""
    try:
        content = torch.load(str(path), map_location='cpu', weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError):
        return False
    meta = content.get('meta') if isinstance(content, dict) else None
    return isinstance(meta, dict) and meta.get('format') == CONVERTED_FORMAT


def _plain(value: Any) -> Any:
    return value.to_dict() if hasattr(value, 'to_dict') else value


def conversion_key(source: Path, model_cfg: Mapping) -> str:
    """Hex key of the source file (resolved path, size, modification time) and of the model's
    weight-holding config: the converted file is reused while both are unchanged."""
    resolved = source.resolve()
    stat = resolved.stat()
    weights_cfg = {key: _plain(model_cfg.get(key)) for key in WEIGHT_CONFIG_KEYS}
    text = json.dumps(dict(source=str(resolved), size=stat.st_size, mtime=stat.st_mtime_ns,
                           model=weights_cfg), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def converted_checkpoint(source: PathLike, model_cfg: Mapping,
                         cache_dir: Optional[PathLike] = None) -> Path:
    """The converted checkpoint of ``source`` for the model of ``model_cfg``: converted on the
    first call and written (atomically) to ``cache_dir`` (default
    ``$OMGSEG_CACHE/checkpoints``), reused afterwards. A file that is already converted is
    returned as is."""
    source = Path(source).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f'checkpoint not found: {source}')
    if _is_converted(source):
        return source
    folder = Path(cache_dir) if cache_dir is not None else checkpoint_cache_dir()
    target = folder / f'{source.stem}-{conversion_key(source, model_cfg)}.pth'
    if target.is_file():
        print_log(f'{source.name}: using the converted checkpoint {target}', logger='current')
        return target
    print_log(f'{source.name}: converting to this code base\'s layout (once) -> {target}',
              logger='current')
    _, report = convert_checkpoint(source, target, model_cfg)
    print_log(report.summary(), logger='current')
    return target


def _config_for_local_file(path: Path, index: ModelIndex) -> str:
    matches = [entry for entry in index.models.values() if entry.file == path.name]
    if len(matches) != 1:
        raise ValueError(f'{path}: give config=... (the file name matches '
                         f'{len(matches)} entries of the model index {index.path}, not one)')
    return matches[0].config


def resolve_pretrained(name_or_path: PathLike, config: Optional[PathLike] = None,
                       revision: Optional[str] = None, index: Optional[PathLike] = None,
                       cfg_options: Optional[dict] = None,
                       cache_dir: Optional[PathLike] = None) -> Tuple[Path, Path]:
    """(config file, converted checkpoint) for a model-index name or a local checkpoint file.

    ``config`` replaces the entry's config (same weights, another task or size); for a local
    file it is required unless the file name is one of the index's (``omg_seg_convl.pth``).
    ``cfg_options`` are merged into the config before the conversion, as ``from_config`` does.
    """
    model_index = load_model_index(index)
    local = Path(name_or_path).expanduser()
    if local.is_file():
        source = local
        config = config if config is not None else _config_for_local_file(local, model_index)
    elif isinstance(name_or_path, str) and name_or_path in model_index.models:
        entry = model_index.get(name_or_path)
        source = download_published(entry, revision=revision)
        config = config if config is not None else entry.config
    else:
        raise FileNotFoundError(
            f'{name_or_path!r} is neither a file nor a model of the index {model_index.path} '
            f'(known: {", ".join(sorted(model_index.models))})')
    config_file = resolve_data_path(config)
    cfg = Config.fromfile(str(config_file))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'config {config_file} has no "model"')
    return config_file, converted_checkpoint(source, cfg.model, cache_dir=cache_dir)


def from_pretrained(predictor_cls, name_or_path: PathLike, config: Optional[PathLike] = None,
                    device=None, vocabulary=None, cfg_options: Optional[dict] = None,
                    revision: Optional[str] = None, index: Optional[PathLike] = None):
    """``predictor_cls.from_config`` on the resolved config and converted checkpoint (see
    :func:`resolve_pretrained`)."""
    config_file, checkpoint = resolve_pretrained(name_or_path, config=config, revision=revision,
                                                 index=index, cfg_options=cfg_options)
    return predictor_cls.from_config(str(config_file), checkpoint, device=device,
                                     vocabulary=vocabulary, cfg_options=cfg_options)


def format_model_index(model_index: ModelIndex) -> str:
    """The index as text: one block per model (config, file, reported numbers, speed)."""
    lines = [f'model index: {model_index.path}']
    for entry in model_index.models.values():
        lines += ['', f'{entry.name}: {entry.description}',
                  f'  config:   {entry.config}',
                  f'  weights:  {entry.hub_repo} / {entry.file}'
                  + (f'  ({entry.url})' if entry.url else '')]
        for task, task_config in entry.task_configs.items():
            lines.append(f'  task config {task}: {task_config}')
        if entry.reported:
            for task, numbers in entry.reported.items():
                lines.append(f'  reported {task}: {numbers}')
        else:
            lines.append('  reported: none found in this project\'s sources (see the notes)')
        for device, speed in entry.measured_speed.items():
            if not speed:
                lines.append(f'  measured {device}: not measured yet')
                continue
            stages = ', '.join(f'{stage} {ms} ms' for stage, ms in (speed.get('ms') or {}).items())
            lines.append(f'  measured {device} ({speed.get("device")}; {speed.get("input")}; '
                         f'{speed.get("date")}; {speed.get("source")}): {stages}')
    if model_index.reported_notes:
        lines += ['', 'notes on reported numbers:']
        lines += [f'  {note.get("text")} [{note.get("source")}]'
                  for note in model_index.reported_notes]
    return '\n'.join(lines)
