"""Vocabularies given at run time: name lists and names files."""
import json

import pytest

from seg.vocab import read_class_names_file, vocabulary_from_names


def test_names_list_gets_a_stable_content_based_name():
    first = vocabulary_from_names(['cat', 'dog'], stuff_classes=['grass'])
    assert first.thing_classes == ('cat', 'dog') and first.stuff_classes == ('grass',)
    assert first.name == vocabulary_from_names(['Cat', 'dog '], ['grass']).name
    assert first.name != vocabulary_from_names(['cat', 'dog', 'grass']).name
    assert first.name.startswith('custom_')
    assert vocabulary_from_names(['cat'], name='pets').name == 'pets'


def test_text_and_json_names_files(tmp_path):
    text = tmp_path / 'names.txt'
    text.write_text('# my classes\ncat, kitty\n\ndog\n[stuff]\ngrass\n[things]\nball\n')
    assert read_class_names_file(text) == (['cat, kitty', 'dog', 'ball'], ['grass'])
    vocabulary = vocabulary_from_names(text)
    assert vocabulary.classes == ('cat, kitty', 'dog', 'ball', 'grass')
    as_json = tmp_path / 'names.json'
    as_json.write_text(json.dumps(dict(thing_classes=['cat'], stuff_classes=['sky'])))
    assert read_class_names_file(as_json) == (['cat'], ['sky'])
    listed = tmp_path / 'list.json'
    listed.write_text(json.dumps(['cat', 'dog']))
    assert vocabulary_from_names(str(listed)).thing_classes == ('cat', 'dog')


def test_bad_names_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        vocabulary_from_names(tmp_path / 'missing.txt')
    with pytest.raises(ValueError, match='at least one class'):
        vocabulary_from_names([])
    bad = tmp_path / 'bad.txt'
    bad.write_text('cat\n[animals]\n')
    with pytest.raises(ValueError, match=r'bad.txt:2: unknown section'):
        read_class_names_file(bad)
    with pytest.raises(ValueError, match='holds no synonym'):
        vocabulary_from_names(['cat', ' , '])
