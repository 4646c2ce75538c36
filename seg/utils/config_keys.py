"""Config blocks checked against the keys their consumer knows, so a typo fails at build time
with the config path, the unknown keys and the allowed ones named."""
from dataclasses import fields, is_dataclass
from typing import Any, Iterable, Mapping, Optional, Type, TypeVar

T = TypeVar('T')


def check_known_keys(cfg: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise ``KeyError('unknown <where> keys [...]; allowed: [...]')`` (both lists sorted) when
    ``cfg`` has keys outside ``allowed``. ``where`` is the config path, e.g. ``'video_cfg'``
    or ``'test_cfg.extra_tasks[1]'``."""
    allowed = set(allowed)
    unknown = sorted(set(cfg) - allowed, key=str)
    if unknown:
        raise KeyError(f'unknown {where} keys {unknown}; allowed: {sorted(allowed)}')


def frozen_dataclass_from_cfg(cls: Type[T], cfg: Optional[Mapping[str, Any]], where: str) -> T:
    """``cls(**cfg)`` for a frozen dataclass ``cls``; missing keys take the field defaults,
    unknown keys raise as in :func:`check_known_keys` and ``None`` means all defaults."""
    if not (is_dataclass(cls) and isinstance(cls, type) and cls.__dataclass_params__.frozen):
        raise TypeError(f'{where}: {cls!r} is not a frozen dataclass')
    cfg = dict(cfg or {})
    check_known_keys(cfg, (field.name for field in fields(cls) if field.init), where)
    return cls(**cfg)
