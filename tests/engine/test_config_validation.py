"""validate_config: unknown keys and wrong-typed values of our components fail early, naming
the config path, the component and the key; every shipped top-level config passes."""
from pathlib import Path
from typing import Literal, Optional, Sequence, Tuple, Union

import pytest
from mmengine.config import Config

from seg.engine import check_component_args, validate_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py'


class Component:
    def __init__(self, size: int, ratio: float = 1.0, name: Optional[str] = None,
                 scale: Tuple[int, int] = (1, 1), ratios: Sequence[float] = (),
                 mode: Literal['a', 'b'] = 'a', cfg: Optional[dict] = None,
                 either: Union[int, str] = 0, anything=None) -> None:
        pass


@pytest.mark.parametrize('kwargs', [
    dict(size=3), dict(size=3, ratio=2), dict(size=3, name=None), dict(size=3, scale=[2, 3]),
    dict(size=3, ratios=(0.5, 1)), dict(size=3, mode='b'), dict(size=3, cfg=dict(a=1)),
    dict(size=3, either='x'), dict(size=3, anything=object())])
def test_values_that_fit_the_annotations_pass(kwargs):
    check_component_args(Component, kwargs, 'model')


@pytest.mark.parametrize('kwargs, message', [
    (dict(size='3'), 'model: Component argument "size" must be int, got str \'3\''),
    (dict(size=True), 'argument "size" must be int, got bool True'),
    (dict(size=3, ratio='x'), '"ratio" must be float'),
    (dict(size=3, name=5), '"name" must be str or None, got int 5'),
    (dict(size=3, scale=(1, 2, 3)), r'"scale" must be tuple\[int, int\]'),
    (dict(size=3, ratios=0.5), r'"ratios" must be Sequence\[float\], got float 0.5'),
    (dict(size=3, ratios='ab'), r'"ratios" must be Sequence\[float\], got str'),
    (dict(size=3, mode='c'), "\"mode\" must be one of 'a', 'b'"),
    (dict(size=3, either=1.5), '"either" must be int or str'),
    (dict(size=3, sise=4), r'Component got an unknown argument "sise"; it accepts \[.*\'size\''),
])
def test_wrong_values_and_unknown_keys_raise_naming_them(kwargs, message):
    with pytest.raises(TypeError, match=message):
        check_component_args(Component, kwargs, 'model')


@pytest.mark.parametrize('options, message', [
    ({'model.panoptic_head.num_queries': '8'},
     'model.panoptic_head: OMGHead argument "num_queries" must be int, got str \'8\''),
    ({'model.panoptic_head.num_querie': 8},
     'model.panoptic_head: OMGHead got an unknown argument "num_querie"'),
    ({'model.foo': 1}, 'model: OMGSegmentor got an unknown argument "foo"'),
    ({'model.backbone.frozen': 'yes'},
     'model.backbone: OpenCLIPBackbone argument "frozen" must be bool'),
    ({'train_dataloader.dataset.pipeline.2.prob': '0.5'},
     r'train_dataloader.dataset.pipeline\[2\]: RandomFlip argument "prob" must be float'),
    ({'train_dataloader.dataset.pipeline.0.to_float': True},
     r'pipeline\[0\]: LoadImageFromFile got an unknown argument "to_float"'),
    ({'train_dataloader.dataset.filter_cfg': 5},
     'CocoPanopticDataset argument "filter_cfg" must be Mapping or None, got int 5'),
])
def test_toy_config_with_a_bad_entry_is_rejected(options, message):
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.merge_from_dict(options)
    with pytest.raises(TypeError, match=message):
        validate_config(cfg)


def test_every_runnable_config_passes():
    configs = sorted(path for path in (REPO_ROOT / 'configs').rglob('*.py')
                     if '_base_' not in path.parts)
    assert TOY_CONFIG in configs
    for path in configs:
        validate_config(Config.fromfile(str(path)))
