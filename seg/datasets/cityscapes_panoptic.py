"""Cityscapes panoptic (19 classes: 8 things, 11 stuff) in the COCO-panoptic format.

Layout (``tools/dataset_converters/cityscapes_to_panoptic.py`` writes ``annotations/``)::

    data/cityscapes/
      leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
      gtFine/{train,val}/<city>/<stem>_gtFine_{instanceIds,labelIds,color}.png, _polygons.json
      annotations/cityscapes_panoptic_{train,val}_trainId.json
      annotations/cityscapes_panoptic_{train,val}_trainId/<stem>_gtFine_panoptic.png  (flat)

The json's image ``file_name`` is the flat image name; the image is read from
``leftImg8bit/<split>/<city>/<file_name>`` with ``city`` = the name's prefix before the first
``_``. Jsons of the official ``createPanopticImgs`` (file names ``<stem>_gtFine_leftImg8bit
.png``) are read too. Category ids are train ids (0-10 stuff, 11-18 things); the labels are
things first: person, rider, car, truck, bus, train, motorcycle, bicycle, then road ... sky.
"""
import os.path as osp
from collections.abc import Mapping

from seg.registry import DATASETS
from .coco_panoptic import DEFAULT_FILTER_CFG, CocoPanopticDataset

CITYSCAPES_TRAIN_PREFIX = dict(img='leftImg8bit/train/',
                               seg='annotations/cityscapes_panoptic_train_trainId/')
OFFICIAL_IMAGE_SUFFIX = '_gtFine_leftImg8bit.png'  # what createPanopticImgs writes
IMAGE_SUFFIX = '_leftImg8bit.png'


def cityscapes_image_relpath(file_name: str) -> str:
    """``<city>_..._leftImg8bit.png`` -> ``<city>/<city>_..._leftImg8bit.png`` (the image under
    ``leftImg8bit/<split>/``); a name that already has a folder is kept."""
    if file_name.endswith(OFFICIAL_IMAGE_SUFFIX):
        file_name = file_name[:-len(OFFICIAL_IMAGE_SUFFIX)] + IMAGE_SUFFIX
    if '/' in file_name:
        return file_name
    city, separator, _ = file_name.partition('_')
    if not separator or not city:
        raise ValueError(f'Cityscapes image file_name {file_name!r} does not start with '
                         '"<city>_" (expected e.g. aachen_000000_000019_leftImg8bit.png)')
    return f'{city}/{file_name}'


@DATASETS.register_module()
class CityscapesPanopticDataset(CocoPanopticDataset):
    """:class:`CocoPanopticDataset` with the Cityscapes defaults (train split, train ids) and
    the ``leftImg8bit/<split>/<city>/`` image folders."""

    def __init__(self, ann_file: str = 'annotations/cityscapes_panoptic_train_trainId.json',
                 data_root: str = 'data/cityscapes/',
                 data_prefix: Mapping = CITYSCAPES_TRAIN_PREFIX,
                 filter_cfg=DEFAULT_FILTER_CFG, **kwargs) -> None:
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         filter_cfg=filter_cfg, **kwargs)

    def _parse_annotation(self, ann: dict, image: dict, where: str, is_thing, label_of) -> dict:
        info = super()._parse_annotation(ann, image, where, is_thing, label_of)
        try:
            relative = cityscapes_image_relpath(image['file_name'])
        except ValueError as error:
            raise ValueError(f'{self.ann_file}: image {image["id"]}: {error}') from error
        info['img_path'] = osp.join(self.data_prefix['img'], relative)
        return info
