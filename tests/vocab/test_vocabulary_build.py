"""Vocabulary.build: names files, instance jsons, merges; the paper configs' merged vocabularies
reproduce the reference's counts and the released models' 139 / 101 class list."""
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from seg.vocab import Vocabulary, read_class_names_file

REPO_ROOT = Path(__file__).resolve().parents[2]
PAPER_CONFIGS = REPO_ROOT / 'configs' / 'omg_seg'


def test_names_file_instance_json_and_merge(tmp_path):
    names = tmp_path / 'names.json'
    names.write_text(json.dumps(dict(thing_classes=['cat,kitty', 'dog'], stuff_classes=['sky'])))
    assert Vocabulary.build(dict(file=str(names))) == Vocabulary(('cat,kitty', 'dog'), ('sky',),
                                                                 'names')
    instances = tmp_path / 'instances.json'
    instances.write_text(json.dumps(dict(categories=[dict(id=3, name='kitty'),
                                                     dict(id=9, name='bird')])))
    assert Vocabulary.build(dict(instance_ann_file=str(instances), name='x')).classes == (
        'kitty', 'bird')
    merged = Vocabulary.build(dict(merge=[dict(file=str(names)), None,
                                          dict(instance_ann_file=str(instances), name='x')],
                                   name='joint'))
    assert merged.thing_classes == ('cat,kitty', 'dog', 'bird') and merged.name == 'joint'


def test_bad_vocabulary_configs_are_named(tmp_path):
    with pytest.raises(KeyError, match='unknown file vocabulary keys'):
        Vocabulary.build(dict(file='a.json', stuff_classes=['sky']))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        Vocabulary.build(dict(instance_ann_file=str(tmp_path / 'missing.json')))
    empty = tmp_path / 'empty.json'
    empty.write_text(json.dumps(dict(categories=[])))
    with pytest.raises(ValueError, match='empty'):
        Vocabulary.build(dict(instance_ann_file=str(empty)))


@pytest.mark.parametrize('config, counts', [
    ('omg_convl_coco_vid_yt19_vip_city_cocosam_12e.py', (136, 101)),
    ('omg_convl_coco_vid_yt19_yt21_vip_city_cocosam_12e.py', (139, 101)),
])
def test_paper_merged_vocabularies_match_the_reference(config, counts, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the configs name ext/class_names/... relative to the repo
    vocabulary = Vocabulary.build(Config.fromfile(str(PAPER_CONFIGS / config)).model.vocabulary)
    assert (vocabulary.num_things, vocabulary.num_stuff) == counts
    if counts == (139, 101):
        things, stuff = read_class_names_file(REPO_ROOT / 'ext/class_names/th139_st101.json')
        assert list(vocabulary.thing_classes) == things
        assert list(vocabulary.stuff_classes) == stuff
