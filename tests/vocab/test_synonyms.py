import pytest

from seg.vocab import (VILD_TEMPLATES, check_templates, class_synonyms, normalize_class_name,
                       split_synonyms)


@pytest.mark.parametrize(
    'name, expected',
    [
        ('person,child,girl', ['person', 'child', 'girl']),
        # mmdet-style ', ' joins must not keep a leading space (the reference's unstripped
        # calculate_class_overlapping missed such secondary names)
        ('animal, bird, dog', ['animal', 'bird', 'dog']),
        ('tv_or_monitor', ['tv', 'monitor']),
        ('Traffic_Light', ['traffic light']),
        ('car/automobile', ['car', 'automobile']),
        ('wall-other-merged', ['wall-other-merged']),
        ('Dog,dog, DOG,,', ['dog']),
        ('  potted   plant ', ['potted plant']),
    ])
def test_split_synonyms_normalises_strips_and_dedupes(name, expected):
    assert split_synonyms(name) == expected


def test_normalized_name_and_class_lists():
    assert normalize_class_name('TV_or_Monitor, screen') == 'tv,monitor,screen'
    assert class_synonyms(['a,b', 'c']) == [['a', 'b'], ['c']]
    with pytest.raises(ValueError, match="' , '"):
        split_synonyms(' , ')
    with pytest.raises(ValueError, match='non-empty list'):
        class_synonyms([])
    with pytest.raises(ValueError, match='non-empty list'):
        class_synonyms('person')


def test_vild_templates_are_the_fourteen_reference_prompts():
    assert len(VILD_TEMPLATES) == 14 and len(set(VILD_TEMPLATES)) == 14
    assert VILD_TEMPLATES[0] == 'a photo of a {}.'
    assert VILD_TEMPLATES[1] == 'This is a photo of a {}'
    assert VILD_TEMPLATES[-1] == 'There is a large {} in the scene.'
    assert check_templates(VILD_TEMPLATES) == VILD_TEMPLATES
    with pytest.raises(ValueError, match='exactly one'):
        check_templates(['a photo of {} and {}'])
    with pytest.raises(ValueError, match='exactly one'):
        check_templates(['no slot'])
