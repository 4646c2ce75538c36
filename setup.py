"""Installable package for the OMG-Seg re-implementation (import names `omgseg` and `seg`).

Besides the code, a regular install ships the configs and the class-names files inside the
`omgseg` package (`site-packages/omgseg/configs`, `.../omgseg/ext`), so configs named
`configs/...` and vocabularies named `ext/...` are found from any directory
(`seg.utils.paths.resolve_data_path`). MANIFEST.in puts the same folders into source
distributions.
"""
from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup

HERE = Path(__file__).resolve().parent
# Folders of the checkout shipped as subpackages of `omgseg` (config files are Python files
# without __init__.py: each folder is listed as a namespace package so that its files install).
SHIPPED_FOLDERS = ('configs', 'ext')
SHIPPED_DATA = ['*.py', '*.yml', '*.json', '*.md']


def shipped_packages():
    packages, package_dir = [], {}
    for folder in SHIPPED_FOLDERS:
        package = f'omgseg.{folder}'
        package_dir[package] = folder
        packages.append(package)
        packages += [f'{package}.{sub}' for sub in find_namespace_packages(str(HERE / folder))]
    return packages, package_dir


def read_version() -> str:
    namespace = {}
    exec(Path(__file__).with_name('seg').joinpath('version.py').read_text(), namespace)
    return namespace['__version__']


INSTALL_REQUIRES = [
    # torch and torchvision come from the package index together so their builds match.
    'torch>=2.6,<3',
    'torchvision>=0.21',
    'mmengine>=0.10.4,<0.11',
    'open_clip_torch>=2.24,<4',
    'timm>=1.0,<2',
    'pycocotools>=2.0.7',
    'scipy>=1.10',
    'numpy>=1.24',
    'opencv-python-headless>=4.8',
    'Pillow>=9.0',
    'tqdm>=4.60',
]

EXTRAS_REQUIRE = {
    # selenium drives the web demo's browser tests (Debian's chromium + chromium-driver);
    # transformers is only the Mask2Former of the benchmark comparison (tools/benchmark.py
    # --compare-hf), tested on tiny models.
    'dev': ['pytest>=7.4', 'hypothesis>=6.0', 'selenium>=4.11', 'onnx>=1.16', 'onnxscript>=0.2',
            'onnxruntime>=1.18', 'transformers>=4.40'],
    # tools/export.py: ONNX export (torch.onnx's dynamo exporter) and its --check.
    'export': ['onnx>=1.16', 'onnxscript>=0.2', 'onnxruntime>=1.18'],
}

SHIPPED_PACKAGES, SHIPPED_PACKAGE_DIR = shipped_packages()

setup(
    name='omgseg',
    version=read_version(),
    description='OMG-Seg: one model for image, video, open-vocabulary and interactive segmentation',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['seg', 'seg.*', 'omgseg']) + SHIPPED_PACKAGES,
    package_dir=SHIPPED_PACKAGE_DIR,
    package_data={package: SHIPPED_DATA for package in SHIPPED_PACKAGES},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
