"""Installable package for the OMG-Seg re-implementation (`seg`)."""
from pathlib import Path

from setuptools import find_packages, setup


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
    'dev': ['pytest>=7.4'],
}

setup(
    name='omgseg',
    version=read_version(),
    description='OMG-Seg: one model for image, video, open-vocabulary and interactive segmentation',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['seg', 'seg.*']),
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
