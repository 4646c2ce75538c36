"""Objects365 v2 as instance-segmentation data (365 thing classes from the json).

Layout (the official v2 release; the train image tarballs ``patch0.tar.gz`` ...
``patch50.tar.gz`` unpack into ``patch<k>/`` folders, the val ones ``patch0`` ... ``patch43``)::

    data/objects365/
      annotations/
        zhiyuan_objv2_train.json   # official: boxes only
        zhiyuan_objv2_val.json
        obj365v2_train.gt.json     # optional: pseudo-mask json (COCO format with segmentation)
      train/patch<k>/objects365_v{1,2}_<number>.jpg
      val/patch<k>/objects365_v{1,2}_<number>.jpg

The official json's ``file_name`` is like ``images/v1/patch8/objects365_v1_00420917.jpg`` while
the image lies in ``train/patch8/``: the image path is ``data_prefix['img']`` + the last two
components (``patch8/objects365_v1_00420917.jpg``). Three images listed in the official train
json are not in the tarballs (``KNOWN_MISSING_IMAGES``); they are dropped with a log line.

Masks: the official annotations are boxes only. The reference (OMG-Seg) trained on a
pseudo-mask json, ``obj365v2_train.gt.json``, which adds ``segmentation`` to each annotation
but was never released; point ``ann_file`` at such a json to train with masks. With the
official json, ``boxes_as_masks=True`` is the explicit opt-in to use each filled box as its
mask (coarse targets); without it the first box-only annotation is an error.

``Objects365V2InsDataset`` (the name the reference configs import) is a registry alias of
:class:`Objects365InstanceDataset`.
"""
import posixpath
from collections.abc import Mapping
from typing import List

from mmengine.logging import print_log

from seg.registry import DATASETS
from .coco_instance import CocoInstanceDataset

OBJECTS365_TRAIN_PREFIX = dict(img='train/')
# Listed in zhiyuan_objv2_train.json but absent from the image tarballs (as mmdet notes).
KNOWN_MISSING_IMAGES = frozenset({
    'patch16/objects365_v2_00908726.jpg',
    'patch6/objects365_v1_00320532.jpg',
    'patch6/objects365_v1_00320534.jpg',
})


def objects365_relative_path(file_name: str) -> str:
    """``images/v1/patch8/x.jpg`` -> ``patch8/x.jpg`` (the layout of the unpacked tarballs);
    a name that is already ``patch8/x.jpg`` is kept."""
    parts = [part for part in file_name.replace('\\', '/').split('/') if part]
    if len(parts) < 2:
        raise ValueError(f'Objects365 file_name {file_name!r} has no patch folder '
                         '(expected e.g. images/v1/patch8/objects365_v1_00420917.jpg)')
    return posixpath.join(parts[-2], parts[-1])


@DATASETS.register_module(name=['Objects365InstanceDataset', 'Objects365V2InsDataset'])
class Objects365InstanceDataset(CocoInstanceDataset):
    """:class:`CocoInstanceDataset` with the Objects365 v2 defaults (train split) and image
    path mapping; see the module docstring for the layout and the mask options."""

    def __init__(self, ann_file: str = 'annotations/zhiyuan_objv2_train.json',
                 data_root: str = 'data/objects365/',
                 data_prefix: Mapping = OBJECTS365_TRAIN_PREFIX, **kwargs) -> None:
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def _image_path(self, image: dict) -> str:
        return super()._image_path(dict(image,
                                        file_name=objects365_relative_path(image['file_name'])))

    def _finish_data_list(self, data_list: List[dict]) -> List[dict]:
        kept = [info for info in data_list
                if objects365_relative_path(info['img_path']) not in KNOWN_MISSING_IMAGES]
        if len(kept) < len(data_list):
            print_log(f'{type(self).__name__}: dropped {len(data_list) - len(kept)} image(s) '
                      f'of {self.ann_file} that the Objects365 release does not contain',
                      logger='current')
        return kept


Objects365V2InsDataset = Objects365InstanceDataset  # the reference configs' import name
