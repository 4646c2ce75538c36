"""Run-time registration of custom open_clip model configs and timm ConvNeXt trunks.

The paper model (``convnext_large_d_320``) ships with open_clip and timm. Small models for tests and
the toy config are described in the config file instead: an open_clip model config (``model_cfg``)
and, when its vision tower names a trunk timm does not know, the ConvNeXt arguments of that trunk
(``trunk_cfg``). Both registrations are idempotent: registering the same description twice is a
no-op, a different description under a taken name is an error.
"""
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping

import open_clip
import timm
from timm.models.convnext import ConvNeXt

_REQUIRED_MODEL_CFG_KEYS = ('embed_dim', 'vision_cfg', 'text_cfg')
# timm.create_model passes these to every entrypoint; a custom trunk has no pretrained weights.
_TIMM_FACTORY_KWARGS = ('pretrained_cfg', 'pretrained_cfg_overlay', 'cache_dir')

# trunk name -> normalised ConvNeXt kwargs, for trunks registered by this module.
_REGISTERED_TRUNKS: Dict[str, Dict[str, Any]] = {}


def _as_json_value(value: Mapping, what: str) -> Dict[str, Any]:
    """Normalise a config mapping to plain JSON types (tuples become lists) for comparison."""
    try:
        return json.loads(json.dumps(value))
    except TypeError as err:
        raise ValueError(f'{what} must hold only JSON-compatible values: {err}') from err


def register_open_clip_config(model_name: str, model_cfg: Mapping) -> None:
    """Make ``model_name`` known to open_clip (``create_model``, ``get_tokenizer``).

    Raises:
        ValueError: the config lacks ``embed_dim``/``vision_cfg``/``text_cfg``, the name is not a
            plain file stem, or the name is already registered with a different config.
    """
    if not isinstance(model_cfg, Mapping):
        raise ValueError(
            f'model_cfg for {model_name!r} must be a dict, got {type(model_cfg).__name__}')
    missing = [key for key in _REQUIRED_MODEL_CFG_KEYS if key not in model_cfg]
    if missing:
        raise ValueError(f'model_cfg for {model_name!r} lacks the open_clip keys {missing}')
    if not model_name or '/' in model_name or '\\' in model_name:
        raise ValueError(
            f'model_name {model_name!r} must be a non-empty name without path separators')
    normalised = _as_json_value(model_cfg, f'model_cfg of {model_name!r}')
    existing = open_clip.get_model_config(model_name)
    if existing is not None:
        if existing != normalised:
            raise ValueError(
                f'open_clip already knows a model {model_name!r} with a different config; '
                f'choose another model_name for this model_cfg.\nknown: {existing}\n'
                f'given: {normalised}')
        return
    # open_clip's public registration reads JSON files; the registry keeps the parsed config, so
    # the file can go away right after the rescan.
    with tempfile.TemporaryDirectory(prefix='omgseg_open_clip_cfg_') as tmp_dir:
        cfg_file = Path(tmp_dir) / f'{model_name}.json'
        cfg_file.write_text(json.dumps(normalised))
        open_clip.add_model_config(cfg_file)
    if open_clip.get_model_config(model_name) != normalised:
        raise RuntimeError(f'open_clip did not register the model config {model_name!r}')


def _check_trunk_cfg(trunk_name: str, trunk_cfg: Mapping) -> Dict[str, Any]:
    if not trunk_name.isidentifier():
        # timm reads '.' as a tag separator and registers entrypoints by their function name.
        raise ValueError(f'timm trunk name {trunk_name!r} must be a Python identifier')
    if not isinstance(trunk_cfg, Mapping):
        raise ValueError(
            f'trunk_cfg for {trunk_name!r} must be a dict, got {type(trunk_cfg).__name__}')
    for key in ('depths', 'dims'):
        if key not in trunk_cfg:
            raise ValueError(
                f'trunk_cfg for {trunk_name!r} lacks {key!r} (ConvNeXt stage depths/widths)')
    if len(trunk_cfg['depths']) != 4 or len(trunk_cfg['dims']) != 4:
        raise ValueError(
            f'trunk_cfg for {trunk_name!r} needs 4 stages, got depths={trunk_cfg["depths"]} '
            f'dims={trunk_cfg["dims"]}')
    return _as_json_value(trunk_cfg, f'trunk_cfg of {trunk_name!r}')


def register_convnext_trunk(trunk_name: str, trunk_cfg: Mapping) -> None:
    """Register a timm model ``trunk_name`` that builds ``timm ConvNeXt(**trunk_cfg)``.

    ``trunk_cfg`` holds ConvNeXt arguments, at least ``depths`` and ``dims`` (e.g. the paper's
    block type needs ``conv_mlp=False``, timm's default). The entrypoint accepts timm's factory
    arguments (``drop_path_rate`` etc.) and refuses ``pretrained=True``.

    Raises:
        ValueError: bad ``trunk_cfg``, a name timm already provides, or a name registered here
            before with different arguments.
    """
    normalised = _check_trunk_cfg(trunk_name, trunk_cfg)
    if trunk_name in _REGISTERED_TRUNKS:
        if _REGISTERED_TRUNKS[trunk_name] != normalised:
            raise ValueError(
                f'timm trunk {trunk_name!r} is already registered with different arguments '
                f'{_REGISTERED_TRUNKS[trunk_name]}; given {normalised}')
        return
    if timm.is_model(trunk_name):
        raise ValueError(
            f'{trunk_name!r} is a timm model already; drop trunk_cfg to use it, or give the custom '
            f'trunk another timm_model_name')

    def build_trunk(pretrained: bool = False, **kwargs: Any) -> ConvNeXt:
        if pretrained:
            raise ValueError(f'custom timm trunk {trunk_name!r} has no pretrained weights')
        for key in _TIMM_FACTORY_KWARGS:
            kwargs.pop(key, None)
        model = ConvNeXt(**{**normalised, **kwargs})
        # open_clip's timm adapter reads default_cfg (pool size) from the trunk.
        model.pretrained_cfg = model.default_cfg = dict(architecture=trunk_name, pool_size=None)
        return model

    build_trunk.__name__ = trunk_name
    build_trunk.__qualname__ = trunk_name
    build_trunk.__module__ = __name__
    # timm lists registered names in the module's __all__; keep the attribute there too so
    # `from ... import *` stays valid.
    setattr(sys.modules[__name__], trunk_name, build_trunk)
    timm.models.register_model(build_trunk)
    _REGISTERED_TRUNKS[trunk_name] = normalised


__all__ = ['register_open_clip_config', 'register_convnext_trunk']
