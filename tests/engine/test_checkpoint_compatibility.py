"""compare_state_dicts / checkpoint_state_dict: what fits, what is missing, unexpected or
reshaped; MMEngine's 'module.' prefix is revised away as when loading."""
import pytest
import torch

from seg.engine import CheckpointCompatibilityHook, checkpoint_state_dict, compare_state_dicts


def test_comparison_lists_every_kind_of_difference():
    model = {'a': torch.zeros(2), 'b': torch.zeros(3), 'c': torch.zeros(1)}
    stored = {'a': torch.ones(2), 'b': torch.ones(4), 'd': torch.ones(1)}
    result = compare_state_dicts(model, stored)
    assert (result.matched, result.missing, result.unexpected) == (['a'], ['c'], ['d'])
    assert result.shape_mismatch == [('b', (4,), (3,))]
    assert not result.is_exact
    assert result.describe() == ('1 tensors match; 1 missing from the checkpoint: c; '
                                 '1 unexpected in the checkpoint: d; 1 with another shape: '
                                 'b (checkpoint (4,), model (3,))')
    ignored = compare_state_dicts(model, stored, ignore=[r'^[bcd]$'])
    assert ignored.is_exact and ignored.matched == ['a']


def test_long_key_lists_are_shortened():
    model = {f'layer{i}': torch.zeros(1) for i in range(25)}
    text = compare_state_dicts(model, {}).describe()
    assert text.startswith('0 tensors match; 25 missing from the checkpoint: layer0, layer1')
    assert text.endswith('layer9, ... (15 more)')


def test_state_dict_is_taken_from_the_checkpoint_and_revised():
    weights = {'module.a': torch.zeros(1)}
    assert list(checkpoint_state_dict({'state_dict': weights, 'meta': {}})) == ['a']
    assert list(checkpoint_state_dict(weights)) == ['a']  # a bare state dict
    with pytest.raises(ValueError, match='checkpoint holds no state_dict'):
        checkpoint_state_dict({'state_dict': [1, 2]})


def test_invalid_ignore_pattern_is_rejected():
    with pytest.raises(ValueError, match=r"ignore_keys: invalid regular expression '\['"):
        CheckpointCompatibilityHook(ignore_keys=['['])
