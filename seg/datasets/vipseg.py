"""VIPSeg video panoptic segmentation.

Follows the reference's ``VIPSegDataset`` (its ``seg/datasets/vipseg.py``).

Layout (the 720p copy, ``tools/dataset_converters/vipseg_to_720p.py``)::

    data/VIPSeg/
      panoVIPSeg_categories.json      # [{'id', 'name', 'isthing', 'color'}], ids 0..123
      train.txt  val.txt              # one video name per line
      imgs/<video>/<frame>.jpg
      panomasks/<video>/<frame>.png   # single-channel 16-bit class/instance codes

PNG codes: 0 is void; a stuff pixel holds ``category_id + 1``; a thing pixel holds
``(category_id + 1) * 100 + k`` (k = instance number in the video), i.e. codes above 128 are
things. Code 200 (a thing code of the stuff class 1) is a known annotation error of VIPSeg and
is treated as void, as the reference does.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from seg.registry import DATASETS
from seg.utils.constants import VOID_LABEL
from seg.utils.json_files import read_json
from .video_dataset import BaseVideoDataset

THING_CODE_MIN = 129
THING_DIVISOR = 100
VOID_CODES = (0, 200)  # 200: annotation error of the dataset (VIPSeg-Dataset issue #1)


def read_vipseg_png(path: str) -> np.ndarray:
    """(H, W) int64 codes of a VIPSeg panoptic PNG (single channel, 8 or 16 bit)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'VIPSeg annotation PNG not found: {path}')
    codes = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if codes is None:
        raise ValueError(f'cannot decode VIPSeg annotation PNG {path}')
    if codes.ndim != 2:
        raise ValueError(f'{path}: expected a single-channel VIPSeg code PNG, got shape '
                         f'{codes.shape} (RGB panoptic PNGs are the COCO-format copy)')
    return codes.astype(np.int64)


def decode_vipseg_codes(codes: np.ndarray, label_table: Dict[int, Tuple[int, bool]],
                        where: str, ignored_categories: Sequence[int] = ()) -> dict:
    """Thing masks / labels / instance ids and the semantic map of one VIPSeg code map.

    ``label_table``: {category id: (contiguous label, is_thing)}; ``ignored_categories``
    (categories left out of the dataset's classes) become void. A code of any other
    category, or a thing code of a stuff class (other than the known 200), raises
    ``ValueError`` naming ``where``.
    """
    height, width = codes.shape
    seg_map = np.full((height, width), VOID_LABEL, np.int64)
    masks, labels, ids = [], [], []
    for code in np.unique(codes).tolist():
        if code in VOID_CODES:
            continue
        is_thing_code = code >= THING_CODE_MIN
        category = (code // THING_DIVISOR if is_thing_code else code) - 1
        if category not in label_table:
            if category in ignored_categories:
                continue
            raise ValueError(f'{where}: code {code} refers to category {category}, which is '
                             'not in the category file')
        label, is_thing = label_table[category]
        if is_thing != is_thing_code:
            kind = 'thing' if is_thing_code else 'stuff'
            raise ValueError(f'{where}: code {code} is a {kind} code but category {category} '
                             f'is {"a thing" if is_thing else "stuff"}')
        region = codes == code
        seg_map[region] = label
        if is_thing:
            masks.append(region)
            labels.append(label)
            ids.append(code)
    return dict(
        gt_masks=(np.stack(masks).astype(np.uint8) if masks
                  else np.zeros((0, height, width), np.uint8)),
        gt_labels=np.asarray(labels, np.int64), gt_instance_ids=np.asarray(ids, np.int64),
        gt_seg_map=seg_map)


def load_vipseg_frame(results: dict) -> dict:
    """Frame annotations of the ``vipseg`` format as pipeline targets."""
    path = results['seg_map_path']
    codes = read_vipseg_png(path)
    expected = results.get('ori_shape')
    if expected is not None and codes.shape != tuple(expected[:2]):
        raise ValueError(f'{path} has size {codes.shape} but its frame '
                         f'{results.get("img_path")} has size {tuple(expected[:2])}')
    frame_height = results.get('frame_height')
    if frame_height is not None and codes.shape[0] != frame_height:
        raise ValueError(f'{path} is {codes.shape[0]} px high, the dataset expects '
                         f'{frame_height} (the 720p copy): run '
                         'tools/dataset_converters/vipseg_to_720p.py')
    results.update(decode_vipseg_codes(codes, results['label_table'], path,
                                       results.get('ignored_categories', ())))
    return results


@DATASETS.register_module()
class VIPSegDataset(BaseVideoDataset):
    """VIPSeg (video panoptic segmentation).

    Args:
        ann_file: list of video names (``train.txt`` / ``val.txt``), relative to data_root.
        data_prefix: ``img`` (frames) and ``seg`` (code PNGs) folders.
        categories_file: the category json (relative to data_root unless absolute).
        frame_height: frames must be this many pixels high (720 for the reference's 720p
            copy); None accepts any size.
        Others: see ``BaseVideoDataset``.

    ``video_id`` is the 1-based position of the video in ``ann_file``; ``video_name`` its
    folder. Frames are the folder's ``.jpg`` files in name order, each with the ``.png`` of
    the same stem.
    """
    ANN_FORMAT = 'vipseg'

    def __init__(self, *args, categories_file: str = 'panoVIPSeg_categories.json',
                 frame_height: Optional[int] = None, **kwargs) -> None:
        self.categories_file = categories_file
        self.frame_height = frame_height
        super().__init__(*args, **kwargs)

    @classmethod
    def default_data_prefix(cls) -> dict:
        return dict(img='imgs/', seg='panomasks/')

    def read_categories(self) -> Tuple[List[dict], str]:
        path = self.categories_file
        if not osp.isabs(path):
            path = osp.join(self.data_root, path)
        categories = read_json(path, 'VIPSeg category file')
        if isinstance(categories, dict):
            categories = categories.get('categories')
        if not isinstance(categories, list):
            raise ValueError(f'{path}: expected a list of categories')
        for index, category in enumerate(categories):
            if 'isthing' not in category:
                raise KeyError(f'{path}: categories[{index}] has no "isthing"')
        self._all_category_ids = tuple(c['id'] for c in categories)
        return categories, path

    def load_data_list(self) -> List[dict]:
        names = self.read_name_list('video')
        table = self.label_table()
        ignored = tuple(c for c in self._all_category_ids if c not in table)
        data_list = []
        for position, name in enumerate(names, start=1):
            data_list.append(self.video_info(
                position, name, self.paired_frames(name), label_table=table,
                ignored_categories=ignored, frame_height=self.frame_height))
        return data_list
