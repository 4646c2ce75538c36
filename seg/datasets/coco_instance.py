"""COCO instance dataset: ``annotations/instances_{split}2017.json`` + images.

Every category is a thing (there is no stuff supervision in instance data). Classes come from
the json's ``categories`` in file order unless ``metainfo=dict(classes=[...])`` selects a subset
or an order; annotations of other categories are dropped. Masks are decoded by
``LoadInstanceAnnotations`` (``seg/datasets/transforms/instance_loading.py``).
"""
import os.path as osp
from collections.abc import Mapping
from typing import Dict, List, Optional, Sequence

from seg.registry import DATASETS
from .coco_panoptic import DEFAULT_FILTER_CFG, CocoPanopticDataset, _require, index_images
from seg.utils.json_files import read_json

DEFAULT_INSTANCE_PREFIX = dict(img='train2017/')


def box_polygon(bbox: Sequence[float]) -> List[List[float]]:
    """The COCO ``[x, y, w, h]`` box as a one-polygon segmentation (its four corners)."""
    x, y, w, h = (float(value) for value in bbox)
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


@DATASETS.register_module()
class CocoInstanceDataset(CocoPanopticDataset):
    """COCO-instance-format dataset (any json with images, annotations and categories).

    Args:
        ann_file: instance json, relative to ``data_root`` unless absolute.
        data_root: dataset folder.
        data_prefix: ``img`` (image folder), relative to ``data_root``.
        boxes_as_masks: an annotation without ``segmentation`` (box-only data such as
            Objects365) gets its filled box as mask. Off by default: such an annotation is a
            ``ValueError`` naming the file and the annotation id.
        filter_cfg, metainfo, dataset_name, pipeline, test_mode, ...: as
            :class:`CocoPanopticDataset` (``filter_empty_gt`` drops images without a non-crowd
            instance; ``metainfo`` may give ``classes`` or ``thing_classes``, all things).

    ``metainfo``: classes (= thing_classes), stuff_classes ``()``, category_ids,
    num_things_classes, num_stuff_classes ``0``, palette, dataset_name. Each data info holds
    img_path, img_id, height, width and instances (json order), each with id, category_id,
    label, iscrowd, bbox (``None`` if the json has none) and segmentation (polygons or RLE).
    """
    required_prefix_keys = ('img',)
    annotation_kind = 'instance annotation file'

    def __init__(self,
                 ann_file: str = 'annotations/instances_train2017.json',
                 data_root: str = '',
                 data_prefix: Mapping = DEFAULT_INSTANCE_PREFIX,
                 boxes_as_masks: bool = False,
                 filter_cfg: Optional[Mapping] = DEFAULT_FILTER_CFG,
                 **kwargs) -> None:
        self.boxes_as_masks = boxes_as_masks
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         filter_cfg=filter_cfg, **kwargs)

    # ----------------------------------------------------------------------------- json parsing
    def _read_json(self) -> dict:
        content = read_json(self.ann_file, self.annotation_kind)
        if not isinstance(content, dict):
            raise ValueError(f'{self.ann_file}: expected a json object with images, annotations '
                             f'and categories, got {type(content).__name__}')
        for key in ('images', 'annotations', 'categories'):
            if not isinstance(_require(content, key, 'the top level', self.ann_file), list):
                raise ValueError(f'{self.ann_file}: "{key}" must be a list')
        # Instance jsons have no 'isthing': every category is a thing.
        content['categories'] = [dict(category, isthing=1) if isinstance(category, Mapping)
                                 else category for category in content['categories']]
        return content

    def _build_metainfo(self, categories: List[dict], requested: dict,
                        dataset_name: Optional[str]) -> dict:
        if requested.get('stuff_classes'):
            raise ValueError(f'{type(self).__name__} has no stuff classes, but metainfo gives '
                             f'stuff_classes={requested["stuff_classes"]!r}')
        if 'thing_classes' in requested:
            requested.setdefault('stuff_classes', ())
        return super()._build_metainfo(categories, requested, dataset_name)

    def load_data_list(self) -> List[dict]:
        """Parse the json into one data info per image (json image order)."""
        content = self._raw_json if self._raw_json is not None else self._read_json()
        self._raw_json = None
        ann_file = self.ann_file
        known_categories = set()
        for index, category in enumerate(content['categories']):
            known_categories.add(_require(category, 'id', f'categories[{index}]', ann_file))
        label_of = {cat_id: label for label, cat_id in enumerate(self._metainfo['category_ids'])}

        infos: Dict[object, dict] = {
            image_id: dict(img_path=self._image_path(image), img_id=image_id,
                           height=image['height'], width=image['width'], instances=[])
            for image_id, image in index_images(content['images'], ann_file).items()}
        if not infos:
            raise ValueError(f'{ann_file}: "images" is empty')

        seen_ids = set()
        for index, ann in enumerate(content['annotations']):
            where = f'annotations[{index}]'
            for key in ('id', 'image_id', 'category_id'):
                _require(ann, key, where, ann_file)
            if ann['id'] in seen_ids:
                raise ValueError(f'{ann_file}: {where} repeats annotation id {ann["id"]}')
            seen_ids.add(ann['id'])
            if ann['image_id'] not in infos:
                raise KeyError(f'{ann_file}: {where} (id {ann["id"]}) refers to image_id '
                               f'{ann["image_id"]}, which is not in "images"')
            if ann['category_id'] not in known_categories:
                raise KeyError(f'{ann_file}: {where} (id {ann["id"]}) has category_id '
                               f'{ann["category_id"]}, which is not in "categories"')
            if ann['category_id'] not in label_of:
                continue  # class left out by metainfo
            infos[ann['image_id']]['instances'].append(
                self._parse_instance(ann, label_of[ann['category_id']], where))
        return self._finish_data_list(list(infos.values()))

    def _image_path(self, image: dict) -> str:
        """Path of the image of a json ``images`` entry (subclasses map other layouts)."""
        return osp.join(self.data_prefix['img'], image['file_name'])

    def _finish_data_list(self, data_list: List[dict]) -> List[dict]:
        """Hook for subclasses (e.g. to drop known-missing images); identity here."""
        return data_list

    def _parse_instance(self, ann: dict, label: int, where: str) -> dict:
        ann_file = self.ann_file
        segmentation = ann.get('segmentation')
        if not segmentation:  # absent, null or empty: a box-only annotation
            if not self.boxes_as_masks:
                raise ValueError(
                    f'{ann_file}: {where} (annotation id {ann["id"]}) has no "segmentation"; '
                    'box-only data needs boxes_as_masks=True (the filled box becomes the mask) '
                    'or a json with masks')
            segmentation = box_polygon(_require(ann, 'bbox', f'{where} (annotation id '
                                                f'{ann["id"]})', ann_file))
        elif isinstance(segmentation, Mapping):
            for key in ('counts', 'size'):
                _require(segmentation, key, f'{where}.segmentation (annotation id {ann["id"]})',
                         ann_file)
        elif not isinstance(segmentation, list):
            raise ValueError(f'{ann_file}: {where} (annotation id {ann["id"]}) has a '
                             f'segmentation of type {type(segmentation).__name__}; expected '
                             'a list of polygons or an RLE dict')
        iscrowd = ann.get('iscrowd', 0)
        if iscrowd not in (0, 1, True, False):
            raise ValueError(f'{ann_file}: {where} (annotation id {ann["id"]}) has iscrowd='
                             f'{iscrowd!r}; expected 0 or 1')
        return dict(id=ann['id'], category_id=ann['category_id'], label=label,
                    iscrowd=int(iscrowd), bbox=ann.get('bbox'), segmentation=segmentation)

    # ------------------------------------------------------------------------------- filtering
    @staticmethod
    def _has_instance(info: dict) -> bool:
        return any(not instance['iscrowd'] for instance in info['instances'])

    def get_cat_ids(self, idx: int) -> List[int]:
        """Contiguous labels of the instances of image ``idx`` (for class-balanced sampling)."""
        return [instance['label'] for instance in self.get_data_info(idx)['instances']]
