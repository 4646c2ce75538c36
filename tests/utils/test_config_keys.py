"""Config blocks with unknown keys fail naming the config path, the keys and the allowed ones."""
from dataclasses import dataclass

import pytest

from seg.utils.config_keys import check_known_keys, frozen_dataclass_from_cfg


@dataclass(frozen=True)
class Settings:
    size: int = 3
    mode: str = 'fast'


def test_unknown_keys_are_named_with_the_allowed_ones():
    check_known_keys({'a': 1}, ('a', 'b'), 'model.test_cfg')
    with pytest.raises(KeyError, match=r"unknown model.test_cfg keys \['x', 'y'\]; "
                                       r"allowed: \['a', 'b'\]"):
        check_known_keys({'y': 1, 'a': 2, 'x': 3}, ('b', 'a'), 'model.test_cfg')


def test_frozen_dataclass_from_cfg_fills_defaults_and_rejects_typos():
    assert frozen_dataclass_from_cfg(Settings, None, 'video_cfg') == Settings()
    assert frozen_dataclass_from_cfg(Settings, {'size': 5}, 'video_cfg') == Settings(size=5)
    with pytest.raises(KeyError, match=r"unknown video_cfg keys \['sise'\]"):
        frozen_dataclass_from_cfg(Settings, {'sise': 5}, 'video_cfg')
    with pytest.raises(TypeError, match='not a frozen dataclass'):
        frozen_dataclass_from_cfg(dict, {}, 'video_cfg')
