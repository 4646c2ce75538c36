"""Checkpoint files are read without running their code; weights load strictly into models."""
import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from seg.checkpoint import (CheckpointConversionError, SegmentorWeights, UnreadableObject,
                            load_converted_weights, read_checkpoint_weights)
from seg.registry import MODELS


class ForeignMetadata:
    """Stands for a class of the reference's stack that this code base never imports."""

    def __init__(self):
        self.epoch = 12


def test_mmengine_checkpoint_with_foreign_objects_is_read_safely(tmp_path):
    weights = {'backbone.stem.0.weight': torch.randn(2, 3), 'panoptic_head.x': torch.ones(4)}
    path = tmp_path / 'published.pth'
    torch.save(dict(meta=dict(info=ForeignMetadata(), lr=np.float64(0.1),
                              history=HistoryBuffer()),
                    state_dict=weights, optimizer=dict(step=torch.tensor(3))), path)
    content = read_checkpoint_weights(path)
    assert content.container == 'state_dict'
    assert sorted(content.other_entries) == ['meta', 'optimizer']
    assert any(name.endswith('ForeignMetadata') for name in content.unread_classes)
    for key, value in weights.items():
        assert torch.equal(content.state_dict[key], value)

    torch.save(weights, tmp_path / 'bare.pth')
    assert read_checkpoint_weights(tmp_path / 'bare.pth').container == 'bare state dict'


def test_unreadable_objects_are_inert():
    stand_in = UnreadableObject(1, 2)
    stand_in.__setstate__({'x': 1})
    assert stand_in.args == (1, 2) and stand_in.state == {'x': 1}


def test_missing_damaged_and_foreign_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        read_checkpoint_weights(tmp_path / 'nothing.pth')
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(b'\x80\x02not really a checkpoint' * 10)
    with pytest.raises(ValueError, match='damaged.pth'):
        read_checkpoint_weights(damaged)
    truncated = tmp_path / 'truncated.pth'
    torch.save({'a': torch.ones(1000)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(ValueError, match='truncated.pth'):
        read_checkpoint_weights(truncated)
    listing = tmp_path / 'list.pth'
    torch.save([torch.ones(1)], listing)
    with pytest.raises(ValueError, match='not a state dict'):
        read_checkpoint_weights(listing)
    no_weights = tmp_path / 'no_weights.pth'
    torch.save(dict(meta=dict(epoch=1)), no_weights)
    with pytest.raises(ValueError, match='holds no state dict'):
        read_checkpoint_weights(no_weights)


def test_segmentor_weights_are_exactly_backbone_and_head(tiny_cfg):
    """The shape-only target used by the converter covers the whole segmentor state dict."""
    model = MODELS.build(tiny_cfg)
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert SegmentorWeights(tiny_cfg).state_shapes() == expected


def test_published_layout_loads_into_a_model(tiny_cfg, tmp_path):
    source = MODELS.build(tiny_cfg)
    published = {'module.' + key: value.clone() for key, value in source.state_dict().items()}
    published['module.panoptic_head.logit_scale'] = torch.tensor(4.6052)
    torch.save(dict(state_dict=published, meta=dict(info=ForeignMetadata())),
               tmp_path / 'ckpt.pth')
    torch.manual_seed(123)
    target = MODELS.build(tiny_cfg)
    report = load_converted_weights(target, tmp_path / 'ckpt.pth')
    assert list(report.dropped) == ['module.panoptic_head.logit_scale']
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key

    published['module.panoptic_head.query_feat.weight'] = torch.zeros(3, 3)
    torch.save(published, tmp_path / 'wrong.pth')
    with pytest.raises(CheckpointConversionError, match='query_feat'):
        load_converted_weights(target, tmp_path / 'wrong.pth')
