"""Early, named errors for config entries our components do not accept.

Python already rejects unknown keyword arguments when a component is built, but only at that
moment (possibly after minutes of setup) and without saying where in the config the entry is;
a value of the wrong type (``num_queries='100'``) often fails much later with an unrelated
message. :func:`validate_config` walks a whole config before anything is built and checks every
``type=`` entry that names a class of this package against its constructor signature: unknown
keys and values whose type contradicts a simple annotation (int, float, bool, str, dict, list /
tuple / Sequence of those, Optional / Union / Literal of those) raise ``TypeError`` naming the
config path, the component and the key. Annotations it cannot judge are not checked.
"""
import inspect
import typing
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence as AbcSequence
from typing import Any, Iterable, Mapping, Optional

_PACKAGE_PREFIX = 'seg.'
_UNKNOWN = None  # _matches() result when an annotation cannot be judged


def validate_config(cfg: Mapping, root: str = '') -> None:
    """Check every component entry of ``cfg`` (recursively); raise ``TypeError`` on the first
    unknown key or wrong-typed value, naming its path (e.g. ``model.panoptic_head.num_queries``)."""
    if not isinstance(cfg, AbcMapping) and hasattr(cfg, 'keys'):
        cfg = {key: cfg.get(key) for key in cfg.keys()}  # mmengine's Config is no Mapping
    for path, node in _component_nodes(cfg, root):
        component = _resolve(_materialize(node['type']))
        if component is not None:
            check_component_args(component, {key: _materialize(value)
                                             for key, value in dict.items(node)}, path)


def check_component_args(component: type, kwargs: Mapping, path: str = '') -> None:
    """Check ``kwargs`` (a config entry, ``type`` ignored) against ``component.__init__``."""
    try:
        signature = inspect.signature(component.__init__)
    except (TypeError, ValueError):
        return
    parameters = {name: param for name, param in signature.parameters.items() if name != 'self'}
    accepts_any = any(param.kind is inspect.Parameter.VAR_KEYWORD for param in parameters.values())
    try:
        hints = typing.get_type_hints(component.__init__)
    except Exception:  # unresolvable forward references: check the keys only
        hints = {}
    where = f'{path}: ' if path else ''
    for key, value in kwargs.items():
        if key == 'type':
            continue
        param = parameters.get(key)
        if param is None or param.kind in (inspect.Parameter.VAR_POSITIONAL,
                                           inspect.Parameter.VAR_KEYWORD):
            if accepts_any:
                continue
            accepted = sorted(name for name, item in parameters.items()
                              if item.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                   inspect.Parameter.VAR_KEYWORD))
            raise TypeError(f'{where}{component.__name__} got an unknown argument "{key}"; it '
                            f'accepts {accepted}')
        hint = hints.get(key)
        if hint is not None and _matches(value, hint) is False:
            raise TypeError(f'{where}{component.__name__} argument "{key}" must be '
                            f'{_describe(hint)}, got {type(value).__name__} {value!r}')


def _component_nodes(node: Any, path: str) -> Iterable:
    """(path, dict) of every mapping with a ``type`` key, depth first."""
    if isinstance(node, AbcMapping):
        if 'type' in node:
            yield path, node
        # dict.items: mmengine's ConfigDict.items() would build every lazy import in the subtree.
        items = dict.items(node) if isinstance(node, dict) else node.items()
        for key, value in items:
            yield from _component_nodes(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _component_nodes(value, f'{path}[{index}]')


def _materialize(value: Any) -> Any:
    """The object behind a lazy import of a pure-Python config (other values unchanged)."""
    from mmengine.config.lazy import LazyAttr, LazyObject
    return value.build() if isinstance(value, (LazyAttr, LazyObject)) else value


def _resolve(kind: Any) -> Optional[type]:
    """The class a ``type`` entry names, if it is one of this package's classes."""
    if not isinstance(kind, str):
        return kind if _is_ours(kind) else None
    from seg import registry
    for name in dir(registry):
        candidate = getattr(registry, name)
        if not (hasattr(candidate, 'get') and hasattr(candidate, 'register_module')):
            continue
        try:
            found = candidate.get(kind)
        except Exception:  # a registry whose location cannot be imported here
            found = None
        if _is_ours(found):
            return found
    return None


def _is_ours(kind: Any) -> bool:
    return inspect.isclass(kind) and kind.__module__.startswith(_PACKAGE_PREFIX)


def _matches(value: Any, hint: Any) -> Optional[bool]:
    """True / False when ``value`` fits / contradicts ``hint``; None when unsure."""
    if hint is Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == 'UnionType':
        results = [_matches(value, arg) for arg in args]
        if any(result is True for result in results):
            return True
        return False if all(result is False for result in results) else _UNKNOWN
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    container = origin or hint
    if container in (dict, AbcMapping, typing.Dict, typing.Mapping):
        return isinstance(value, AbcMapping)
    if container in (list, tuple, AbcSequence, typing.List, typing.Tuple, typing.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        return _sequence_items_match(value, container, args)
    return _UNKNOWN


def _sequence_items_match(value, container, args) -> Optional[bool]:
    if not args:
        return True
    if container is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(value):
            return False
        results = [_matches(item, arg) for item, arg in zip(value, args)]
    else:
        results = [_matches(item, args[0]) for item in value]
    if any(result is False for result in results):
        return False
    return True if all(result is True for result in results) else _UNKNOWN


def _describe(hint: Any) -> str:
    """Readable annotation: ``int``, ``dict or None``, ``Sequence[float]``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or type(hint).__name__ == 'UnionType':
        return ' or '.join(_describe(arg) for arg in args)
    if hint is type(None):
        return 'None'
    if origin is typing.Literal:
        return 'one of ' + ', '.join(repr(arg) for arg in args)
    name = getattr(origin or hint, '__name__', None) or str(hint).replace('typing.', '')
    if args:
        name += '[' + ', '.join('...' if arg is Ellipsis else _describe(arg) for arg in args) + ']'
    return name
