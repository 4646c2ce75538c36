import zlib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from seg.utils import CACHE_ENV_VAR
from seg.vocab import (VILD_TEMPLATES, embedding_file_path, generate_text_embeddings,
                       get_or_create_text_embeddings, load_text_embeddings, save_text_embeddings)

DIM = 8


class HashTextEncoder:
    """Deterministic stand-in for CLIP: each string maps to its own random vector."""

    model_name = 'hash_clip'

    def __init__(self):
        self.calls = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return torch.stack([
            torch.randn(DIM, generator=torch.Generator().manual_seed(zlib.crc32(text.encode())))
            for text in texts
        ]) * 3.0


def expected_synonym_embedding(synonym, templates=VILD_TEMPLATES):
    encoder = HashTextEncoder()
    per_template = F.normalize(encoder([t.format(synonym) for t in templates]), dim=-1)
    return F.normalize(per_template.mean(0), dim=0)


def test_generate_averages_templates_and_pads_with_the_first_synonym():
    encoder = HashTextEncoder()
    embeddings = generate_text_embeddings(encoder, ['Person,child', 'tv_or_monitor/screen', 'cat'],
                                          progress=False)
    assert embeddings.shape == (3, 3, DIM) and embeddings.dtype == torch.float32
    torch.testing.assert_close(embeddings.norm(dim=-1), torch.ones(3, 3))
    torch.testing.assert_close(embeddings[0, 1], expected_synonym_embedding('child'))
    torch.testing.assert_close(embeddings[1, 2], expected_synonym_embedding('screen'))
    torch.testing.assert_close(embeddings[0, 2], embeddings[0, 0])  # padded with 'person'
    assert torch.equal(embeddings[2, 1], embeddings[2, 0]) and torch.equal(
        embeddings[2, 2], embeddings[2, 0])
    prompts = [text for call in encoder.calls for text in call]
    assert 'a photo of a person.' in prompts and 'There is a large monitor in the scene.' in prompts
    assert len(prompts) == 6 * 14  # each distinct synonym once, with every template


def test_generate_is_independent_of_batch_size_and_reports_progress(capsys):
    names = ['a,b', 'c']
    big = generate_text_embeddings(HashTextEncoder(), names, batch_size=256, progress=True)
    assert '42/42' in capsys.readouterr().out  # 3 synonyms x 14 templates
    encoder = HashTextEncoder()
    small = generate_text_embeddings(encoder, names, batch_size=5, progress=False)
    assert max(len(call) for call in encoder.calls) == 5
    torch.testing.assert_close(small, big)
    with pytest.raises(ValueError, match=r'\(5, D\) tensor'):
        generate_text_embeddings(lambda texts: torch.zeros(1, DIM), names, batch_size=5)


def test_embedding_file_path_uses_the_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / 'cache'))
    assert embedding_file_path(
        'convnext_large_d_320',
        'CocoPanopticDataset') == (tmp_path / 'cache' / 'embeddings' /
                                   'convnext_large_d_320_CocoPanopticDataset.pth')
    assert embedding_file_path('m', 'd', cache_dir=tmp_path) == tmp_path / 'm_d.pth'
    with pytest.raises(ValueError, match='path separators'):
        embedding_file_path('m', '../d')


def test_save_and_load_round_trip(tmp_path):
    names = ['person,child', 'cat']
    embeddings = generate_text_embeddings(HashTextEncoder(), names, progress=False)
    path = save_text_embeddings(tmp_path / 'sub' / 'e.pth', embeddings, names, 'hash_clip')
    assert sorted(p.name for p in path.parent.iterdir()) == ['e.pth']  # no temp file left
    stored = torch.load(path, weights_only=True)
    assert stored['class_names'] == names and stored['model_name'] == 'hash_clip'
    assert torch.equal(load_text_embeddings(path, class_names=names, model_name='hash_clip'),
                       embeddings)
    # Entries that normalise to the same synonyms give the same embeddings.
    load_text_embeddings(path, class_names=['Person, child', 'CAT'])
    with pytest.raises(ValueError, match="'hash_clip'.*'other_clip'"):
        load_text_embeddings(path, model_name='other_clip')


def test_reference_bare_tensor_files_load(tmp_path):
    bare = F.normalize(torch.randn(5, 2, 4), dim=-1)
    torch.save(bare, tmp_path / 'convnext_base_omgtest_OMGRefSmall.pth')
    loaded = load_text_embeddings(tmp_path / 'convnext_base_omgtest_OMGRefSmall.pth',
                                  num_classes=5,
                                  class_names=['a', 'b', 'c', 'd', 'e'])
    assert torch.equal(loaded, bare)


def test_missing_file_names_the_command_to_run(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    default_file = embedding_file_path('clipm', 'Toy')
    with pytest.raises(FileNotFoundError) as error:
        load_text_embeddings(default_file, config_hint='configs/toy/omg_toy_coco_panoptic.py')
    assert 'python tools/gen_cls.py configs/toy/omg_toy_coco_panoptic.py' in str(error.value)
    assert str(default_file) in str(error.value) and '--out' not in str(error.value)
    elsewhere = tmp_path / 'other' / 'x.pth'
    with pytest.raises(FileNotFoundError,
                       match=f'python tools/gen_cls.py CONFIG --out {elsewhere}'):
        load_text_embeddings(elsewhere)


def test_mismatches_and_bad_files_give_clear_errors(tmp_path):
    names = ['person', 'cat', 'dog']
    path = save_text_embeddings(tmp_path / 'e.pth',
                                generate_text_embeddings(HashTextEncoder(), names, progress=False),
                                names, 'hash_clip')
    with pytest.raises(ValueError, match=r'e\.pth holds 3 classes, the model expects 4'):
        load_text_embeddings(path, num_classes=4)
    with pytest.raises(ValueError, match=r"class 2 is 'dog' in the file, 'horse' expected"):
        load_text_embeddings(path, class_names=['person', 'cat', 'horse'])
    not_unit = tmp_path / 'not_unit.pth'
    torch.save(torch.ones(2, 1, 4), not_unit)
    with pytest.raises(ValueError, match='not_unit.pth.*unit norm'):
        load_text_embeddings(not_unit)
    damaged = tmp_path / 'damaged.pth'
    damaged.write_bytes(b'garbage')
    with pytest.raises(ValueError, match='damaged.pth'):
        load_text_embeddings(damaged)
    flat = tmp_path / 'flat.pth'
    torch.save(torch.ones(2, 4), flat)
    with pytest.raises(ValueError, match=r'flat.pth.*\(K, P, D\)'):
        load_text_embeddings(flat)


def test_get_or_create_generates_once_then_loads(tmp_path):
    built = []

    def factory():
        built.append(HashTextEncoder())
        return built[-1]

    path = tmp_path / 'hash_clip_Toy.pth'
    with pytest.raises(FileNotFoundError, match='gen_cls.py'):
        get_or_create_text_embeddings(path, ['a', 'b'], factory, generate_if_missing=False)
    assert built == []
    first = get_or_create_text_embeddings(path, ['a', 'b'], factory, generate_if_missing=True)
    assert len(built) == 1 and path.is_file()
    assert torch.load(path, weights_only=True)['model_name'] == 'hash_clip'
    again = get_or_create_text_embeddings(path, ['a', 'b'], factory, generate_if_missing=True)
    assert len(built) == 1 and torch.equal(first, again)
    # The dataset changed its classes: regenerated (with a warning) instead of a stale classifier.
    changed = get_or_create_text_embeddings(path, ['a', 'b', 'c'],
                                            factory,
                                            generate_if_missing=True)
    assert len(built) == 2 and changed.shape[0] == 3
    with pytest.raises(ValueError, match='3 classes'):
        get_or_create_text_embeddings(Path(path), ['a', 'b'], factory, generate_if_missing=False)
