"""A regular (not editable) install works outside the repository: `pip install <checkout>` into a
fresh virtual environment, then, from another directory, a packaged config named by its path
inside the package builds a model that predicts, and ext/ vocabularies and the model index are
found. The fresh environment reuses this environment's installed dependencies (a .pth line, so
nothing is downloaded) but not its editable install of this package."""
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# What setup.py needs to build the distribution (MANIFEST.in / setup.py say what ships).
SOURCE_ITEMS = ('setup.py', 'MANIFEST.in', 'README.md', 'INSTALL.md', 'seg', 'omgseg',
                'configs', 'ext')

SCRIPT = textwrap.dedent('''
    import json, sys, warnings
    from pathlib import Path
    import numpy as np
    import omgseg
    import seg
    import seg.apis
    from omgseg.apis import Predictor
    from seg.apis.pretrained import load_model_index
    from seg.utils.paths import package_data_root
    from seg.vocab.runtime_vocabulary import read_class_names_file

    assert Predictor is seg.apis.Predictor
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        predictor = Predictor.from_config('configs/toy/omg_toy_coco_panoptic.py', None,
                                          device='cpu', vocabulary=['ball', 'box'])
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    result = predictor.predict(image, task='panoptic')
    things, stuff = read_class_names_file('ext/class_names/coco_panoptic.json')
    print(json.dumps(dict(
        seg_file=seg.__file__, omgseg_file=omgseg.__file__,
        data_root=str(package_data_root()), index=str(load_model_index().path),
        classes=list(predictor.class_names), panoptic_shape=list(result.panoptic.shape),
        coco_classes=len(things) + len(stuff),
        warnings=[str(w.message) for w in caught])))
''')


def copy_source(target: Path) -> Path:
    target.mkdir()
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
    for name in SOURCE_ITEMS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def test_regular_install_runs_a_packaged_config_from_another_directory(tmp_path):
    source = copy_source(tmp_path / 'checkout')
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = venv / 'bin' / 'python'
    purelib = subprocess.run([str(python), '-c', 'import sysconfig; '
                              'print(sysconfig.get_paths()["purelib"])'], check=True,
                             capture_output=True, text=True).stdout.strip()
    # Dependencies (torch, mmengine, setuptools...) from this environment, appended after the
    # fresh site-packages: the installed omgseg / seg come first.
    Path(purelib, 'zz_dependencies.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    install = subprocess.run(
        [sys.executable, '-m', 'pip', '--python', str(python), 'install', '--no-deps',
         '--ignore-installed', '--no-build-isolation', '--no-index', '--quiet', str(source)],
        capture_output=True, text=True)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (Path(purelib) / 'omgseg' / 'configs' / 'toy' / 'omg_toy_coco_panoptic.py').is_file()
    assert (Path(purelib) / 'omgseg' / 'ext' / 'class_names' / 'th139_st101.json').is_file()
    assert (Path(purelib) / 'omgseg' / 'configs' / 'model-index.yml').is_file()
    shutil.rmtree(source)  # nothing may come from the checkout copy

    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(OMGSEG_CACHE=str(tmp_path / 'cache'), HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
               PYTHONNOUSERSITE='1')
    run = subprocess.run([str(python), '-c', SCRIPT], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    installed = Path(purelib).resolve()
    assert Path(report['seg_file']).resolve().is_relative_to(installed)
    assert Path(report['data_root']).resolve() == installed / 'omgseg'
    assert Path(report['index']).resolve() == installed / 'omgseg' / 'configs' / 'model-index.yml'
    assert report['classes'] == ['ball', 'box']
    assert report['panoptic_shape'] == [96, 128]
    assert report['coco_classes'] == 133
    # No checkpoint: random weights, and the user is told so.
    told = '\n'.join(report['warnings']) + run.stderr
    assert re.search(r'checkpoint', told, re.I) and re.search(r'random', told, re.I), told
    assert not list(elsewhere.iterdir()), 'the run wrote into the current directory'


def test_omgseg_is_the_seg_package_under_another_name(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO_ROOT))  # the checkout's omgseg/ (editable or not)
    import importlib

    import seg.apis
    import seg.utils.paths
    omgseg_apis = importlib.import_module('omgseg.apis')
    assert omgseg_apis is seg.apis
    assert omgseg_apis.Predictor is seg.apis.Predictor
    assert importlib.import_module('omgseg.utils.paths') is seg.utils.paths
    assert seg.apis.__spec__.name == 'seg.apis'  # seg's own modules keep their identity
    assert importlib.import_module('omgseg').__version__ == importlib.import_module(
        'seg').__version__
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module('omgseg.no_such_module')


def test_shipped_paths_resolve_from_any_directory(tmp_path, monkeypatch):
    from seg.utils.paths import package_data_root, resolve_data_path
    monkeypatch.chdir(tmp_path)
    name = 'configs/toy/omg_toy_coco_panoptic.py'
    assert resolve_data_path(name) == package_data_root() / name
    assert resolve_data_path('ext/class_names/coco_panoptic.json').is_file()
    local = tmp_path / name  # a file of the same relative name here takes precedence
    local.parent.mkdir(parents=True)
    local.write_text('model = None\n')
    assert resolve_data_path(name).resolve() == local
    with pytest.raises(FileNotFoundError, match='neither relative to .* nor in the package'):
        resolve_data_path('ext/class_names/missing.json')
    with pytest.raises(FileNotFoundError, match='no such file'):
        resolve_data_path('data/elsewhere.json')  # not a shipped folder: no package lookup
