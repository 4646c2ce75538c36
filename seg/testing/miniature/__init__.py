"""Miniature copies of the real datasets (smoke tests of the paper's configs).

``write_miniature_data(root)`` writes under ``root`` (it plays the role of the repository's
``data/`` folder) a few tiny images / 3-4-frame videos per split of every dataset the configs
read, each in its real folder layout (DATASET.md) and with its real category list, so the
configs' class lists and merged vocabularies match::

    coco/                      annotations/panoptic_{train,val}2017{.json,/},
                               annotations/instances_{train,val}2017.json, {train,val}2017/
    ade/ADEChallengeData2016/  ade20k_panoptic_{train,val}{.json,/},
                               images/{training,validation}/
    cityscapes/                leftImg8bit/, gtFine/, annotations/cityscapes_panoptic_*_trainId*
    youtube_vis_2019/          {train,valid}.json, {train,valid}/JPEGImages/, annotations/
    youtube_vis_2021/          {train,valid}/instances.json, {train,valid}/JPEGImages/,
                               annotations/
    VIPSeg/                    panoVIPSeg_categories.json, {train,val}.txt, imgs/, panomasks/
    DAVIS/                     ImageSets/2017/, JPEGImages/{480p,Full-Resolution}/, Annotations/
    objects365/                annotations/zhiyuan_objv2_{train,val}.json,
                               annotations/obj365v2_train.gt.json, {train,val}/patch<k>/

Deterministic given ``seed``. ``move_data_paths(cfg_dict, root)`` points a config's ``data/...``
paths (data roots, vocabulary json files) at such a tree.
"""
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Union

from .categories import (ADE20K_PANOPTIC_CATEGORIES, COCO_INSTANCE_CATEGORIES,
                         COCO_PANOPTIC_CATEGORIES, OBJECTS365_SAMPLE_CATEGORIES,
                         VIPSEG_CATEGORIES, YOUTUBE_VIS_2019_CLASSES, YOUTUBE_VIS_2021_CLASSES,
                         youtube_vis_categories)
from .config_paths import move_data_paths
from .images import write_ade20k, write_cityscapes, write_coco, write_objects365
from .videos import write_davis, write_vipseg, write_youtube_vis

# Dataset key -> writer(root, seed, log) -> {split: number of images / videos}.
_WRITERS = {
    'coco': write_coco,
    'ade': write_ade20k,
    'cityscapes': write_cityscapes,
    'youtube_vis_2019': lambda root, seed, log: write_youtube_vis(root, '2019', seed, log),
    'youtube_vis_2021': lambda root, seed, log: write_youtube_vis(root, '2021', seed, log),
    'vipseg': write_vipseg,
    'davis': write_davis,
    'objects365': write_objects365,
}
MINIATURE_DATASETS = tuple(_WRITERS)
# Dataset key -> the top-level folder under root that its writer fills.
DATASET_FOLDERS = dict(coco='coco', ade='ade', cityscapes='cityscapes',
                       youtube_vis_2019='youtube_vis_2019', youtube_vis_2021='youtube_vis_2021',
                       vipseg='VIPSeg', davis='DAVIS', objects365='objects365')


def write_miniature_data(root: Union[str, Path], datasets: Iterable[str] = MINIATURE_DATASETS,
                         seed: int = 0, log: Optional[Callable[[str], None]] = None
                         ) -> Dict[str, Dict[str, int]]:
    """Write the miniature copies of ``datasets`` (keys of ``MINIATURE_DATASETS``) under
    ``root``; returns {dataset: {split: number of images or videos}}. ``log`` receives
    progress lines (None: silent). Existing files of the same names are overwritten."""
    datasets = list(datasets)
    unknown = [name for name in datasets if name not in _WRITERS]
    if unknown:
        raise ValueError(f'unknown miniature dataset(s) {unknown}; choose from '
                         f'{list(MINIATURE_DATASETS)}')
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sink = log or (lambda message: None)
    return {name: _WRITERS[name](root, seed, sink) for name in datasets}


__all__ = [
    'write_miniature_data', 'move_data_paths', 'MINIATURE_DATASETS', 'DATASET_FOLDERS',
    'COCO_PANOPTIC_CATEGORIES', 'COCO_INSTANCE_CATEGORIES', 'ADE20K_PANOPTIC_CATEGORIES',
    'VIPSEG_CATEGORIES',
    'YOUTUBE_VIS_2019_CLASSES', 'YOUTUBE_VIS_2021_CLASSES', 'OBJECTS365_SAMPLE_CATEGORIES',
    'youtube_vis_categories'
]
