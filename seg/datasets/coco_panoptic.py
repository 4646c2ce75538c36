"""COCO panoptic dataset: ``annotations/panoptic_{split}2017.json`` + id PNGs + images.

Classes come from the json (things first, then stuff, each in json order) unless ``metainfo``
selects a subset or an order; either way labels are contiguous, things in ``[0, num_things)``.
"""
import copy
import os.path as osp
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from seg.registry import DATASETS, TRANSFORMS
from seg.utils.config_keys import check_known_keys
from seg.utils.json_files import read_json

CLASS_KEYS = ('classes', 'thing_classes', 'stuff_classes')
FILTER_KEYS = ('filter_empty_gt', 'min_size')
DEFAULT_DATA_PREFIX = dict(img='train2017/', seg='annotations/panoptic_train2017/')
DEFAULT_FILTER_CFG = dict(filter_empty_gt=True, min_size=32)


def _require(record: Mapping, key: str, where: str, ann_file: str):
    if not isinstance(record, Mapping) or key not in record:
        raise KeyError(f'{ann_file}: {where} has no key "{key}"')
    return record[key]


def index_images(images: List[dict], ann_file: str) -> Dict[object, dict]:
    """{image id: json ``images`` entry}; each entry needs id, file_name, height and width and
    ids must be unique (errors name the json and the entry)."""
    by_id: Dict[object, dict] = {}
    for index, image in enumerate(images):
        where = f'images[{index}]'
        image_id = _require(image, 'id', where, ann_file)
        for key in ('file_name', 'height', 'width'):
            _require(image, key, where, ann_file)
        if image_id in by_id:
            raise ValueError(f'{ann_file}: {where} repeats image id {image_id}')
        by_id[image_id] = image
    return by_id


def _fallback_color(index: int) -> tuple:
    # Deterministic, well-spread colours for categories without a json 'color'.
    return ((index * 67 + 50) % 256, (index * 131 + 90) % 256, (index * 193 + 130) % 256)


@DATASETS.register_module()
class CocoPanopticDataset(BaseDataset):
    """COCO-panoptic-format dataset (also any dataset converted to that layout).

    Args:
        ann_file: panoptic json, relative to ``data_root`` unless absolute.
        data_root: dataset folder.
        data_prefix: ``img`` (image folder) and ``seg`` (PNG folder), relative to ``data_root``.
        pipeline: transforms (configs or callables).
        test_mode: no filtering; a pipeline returning ``None`` is an error.
        filter_cfg: training-only filter: ``filter_empty_gt`` drops images without a
            non-crowd thing segment, ``min_size`` drops images whose shorter side is smaller;
            ``None`` or ``{}`` keeps every image.
        metainfo: optional ``classes`` and/or ``thing_classes`` + ``stuff_classes`` (json
            names) to restrict or reorder the vocabulary; segments of other categories become
            void. Other keys are kept as given.
        dataset_name: name of the vocabulary (text-embedding files are named after it);
            defaults to the class name.
        indices, serialize_data, lazy_init, max_refetch: as mmengine's ``BaseDataset``.

    ``metainfo`` holds classes, thing_classes, stuff_classes, category_ids (json id per class),
    num_things_classes, num_stuff_classes, dataset_name and palette (json colours). Each data
    info holds img_path, img_id, seg_map_path, height, width, segments_info (json segments plus
    ``label`` and ``is_thing``) and ignored_segment_ids (segments of unselected classes).
    """
    required_prefix_keys = ('img', 'seg')  # data_prefix keys the data infos need

    def __init__(self,
                 ann_file: str = 'annotations/panoptic_train2017.json',
                 data_root: str = '',
                 data_prefix: Mapping = DEFAULT_DATA_PREFIX,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 filter_cfg: Optional[Mapping] = DEFAULT_FILTER_CFG,
                 metainfo: Optional[Mapping] = None,
                 dataset_name: Optional[str] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        data_prefix = dict(data_prefix)
        filter_cfg = dict(filter_cfg or {})
        for key in self.required_prefix_keys:
            if key not in data_prefix:
                raise KeyError(f'{type(self).__name__} data_prefix needs "{key}", got '
                               f'{data_prefix}')
        check_known_keys(filter_cfg, FILTER_KEYS, 'filter_cfg')
        self._raw_json: Optional[dict] = None
        # Built from this package's registry so the pipeline also works outside a runner
        # (mmengine's Compose would look in its root registry unless default_scope='seg').
        pipeline = [TRANSFORMS.build(step) if isinstance(step, Mapping) else step
                    for step in pipeline]
        # The class list is read from the json, so the base class must not build metainfo yet.
        super().__init__(ann_file=ann_file, metainfo=None, data_root=data_root,
                         data_prefix=data_prefix, filter_cfg=filter_cfg, indices=indices,
                         serialize_data=serialize_data, pipeline=list(pipeline),
                         test_mode=test_mode, lazy_init=True, max_refetch=max_refetch)
        self._raw_json = self._read_json()
        self._metainfo = self._build_metainfo(self._raw_json['categories'],
                                              copy.deepcopy(dict(metainfo or {})), dataset_name)
        if lazy_init:
            self._raw_json = None  # re-read by full_init(); do not hold a large json meanwhile
        else:
            self.full_init()

    # ----------------------------------------------------------------------------- json parsing
    def _read_json(self) -> dict:
        content = read_json(self.ann_file, 'panoptic annotation file')
        if not isinstance(content, dict):
            raise ValueError(f'{self.ann_file}: expected a json object with images, annotations '
                             f'and categories, got {type(content).__name__}')
        for key in ('images', 'annotations', 'categories'):
            if not isinstance(_require(content, key, 'the top level', self.ann_file), list):
                raise ValueError(f'{self.ann_file}: "{key}" must be a list')
        return content

    def _build_metainfo(self, categories: List[dict], requested: dict,
                        dataset_name: Optional[str]) -> dict:
        by_name: Dict[str, dict] = {}
        seen_ids = set()
        for index, category in enumerate(categories):
            where = f'categories[{index}]'
            for key in ('id', 'name', 'isthing'):
                _require(category, key, where, self.ann_file)
            if category['id'] in seen_ids or category['name'] in by_name:
                raise ValueError(f'{self.ann_file}: {where} repeats id {category["id"]} or name '
                                 f'"{category["name"]}"')
            seen_ids.add(category['id'])
            by_name[category['name']] = category

        things, stuff = self._select_classes(by_name, requested)
        classes = things + stuff
        metainfo = {key: value for key, value in requested.items() if key not in CLASS_KEYS}
        metainfo.update(
            classes=tuple(classes),
            thing_classes=tuple(things),
            stuff_classes=tuple(stuff),
            category_ids=tuple(by_name[name]['id'] for name in classes),
            num_things_classes=len(things),
            num_stuff_classes=len(stuff),
            palette=[tuple(by_name[name].get('color', _fallback_color(i)))
                     for i, name in enumerate(classes)])
        metainfo['dataset_name'] = (dataset_name or requested.get('dataset_name')
                                    or type(self).__name__)
        return metainfo

    def _select_classes(self, by_name: Dict[str, dict], requested: dict) -> tuple:
        """(thing names, stuff names): the json's by default, else the validated request."""
        if not any(key in requested for key in CLASS_KEYS):
            things = [name for name, cat in by_name.items() if cat['isthing']]
            return things, [name for name, cat in by_name.items() if not cat['isthing']]
        if ('thing_classes' in requested) != ('stuff_classes' in requested):
            raise ValueError('metainfo must give both thing_classes and stuff_classes, or neither')
        for key in CLASS_KEYS:
            if key in requested and not isinstance(requested[key], (list, tuple)):
                raise TypeError(f'metainfo {key} must be a list or tuple of names, got '
                                f'{requested[key]!r}')
        requested_names = [name for key in CLASS_KEYS for name in requested.get(key, ())]
        for name in requested_names:
            if name not in by_name:
                raise KeyError(f'{self.ann_file}: class "{name}" from metainfo is not a category '
                               f'of the json (categories: {sorted(by_name)})')
        if 'thing_classes' in requested:
            things = list(requested['thing_classes'])
            stuff = list(requested['stuff_classes'])
            if 'classes' in requested and list(requested['classes']) != things + stuff:
                raise ValueError('metainfo classes must equal thing_classes + stuff_classes')
        else:
            names = list(requested['classes'])
            things = [name for name in names if by_name[name]['isthing']]
            stuff = [name for name in names if not by_name[name]['isthing']]
            if names != things + stuff:
                raise ValueError(f'metainfo classes must list every thing class before the stuff '
                                 f'classes (things first, as the model expects), got {names}')
        if len(set(things + stuff)) != len(things + stuff):
            raise ValueError(f'metainfo lists a class twice: {things + stuff}')
        for name, expect_thing in [(n, True) for n in things] + [(n, False) for n in stuff]:
            if bool(by_name[name]['isthing']) != expect_thing:
                raise ValueError(f'{self.ann_file}: class "{name}" has isthing='
                                 f'{by_name[name]["isthing"]}, but metainfo lists it as '
                                 f'{"a thing" if expect_thing else "stuff"}')
        return things, stuff

    def load_data_list(self) -> List[dict]:
        """Parse the json into one data info per image (json image order)."""
        content = self._raw_json if self._raw_json is not None else self._read_json()
        self._raw_json = None
        ann_file = self.ann_file
        is_thing = {cat['id']: bool(cat['isthing']) for cat in content['categories']}
        label_of = {cat_id: label for label, cat_id in enumerate(self._metainfo['category_ids'])}

        images = index_images(content['images'], ann_file)

        infos = {}
        for index, ann in enumerate(content['annotations']):
            where = f'annotations[{index}]'
            image_id = _require(ann, 'image_id', where, ann_file)
            if image_id not in images:
                raise KeyError(f'{ann_file}: {where} refers to image_id {image_id}, which is not '
                               'in "images"')
            if image_id in infos:
                raise ValueError(f'{ann_file}: {where} is a second annotation of image_id '
                                 f'{image_id}')
            infos[image_id] = self._parse_annotation(ann, images[image_id], where, is_thing,
                                                     label_of)

        if not images:
            raise ValueError(f'{ann_file}: "images" is empty')
        missing = [image_id for image_id in images if image_id not in infos]
        if missing:
            raise ValueError(f'{ann_file}: {len(missing)} image(s) have no entry in '
                             f'"annotations", e.g. image_id {missing[0]} '
                             f'({images[missing[0]]["file_name"]})')
        return [infos[image_id] for image_id in images]

    def _parse_annotation(self, ann: dict, image: dict, where: str, is_thing: Dict[int, bool],
                          label_of: Dict[int, int]) -> dict:
        ann_file = self.ann_file
        png_name = _require(ann, 'file_name', where, ann_file)
        segments, ignored_ids, seen_ids = [], [], set()
        for seg_index, segment in enumerate(_require(ann, 'segments_info', where, ann_file)):
            seg_where = f'{where}.segments_info[{seg_index}]'
            for key in ('id', 'category_id', 'iscrowd'):
                _require(segment, key, seg_where, ann_file)
            category_id = segment['category_id']
            if category_id not in is_thing:
                raise KeyError(f'{ann_file}: {seg_where} has category_id {category_id}, which is '
                               'not in "categories"')
            if segment['id'] == 0 or segment['id'] in seen_ids:
                raise ValueError(f'{ann_file}: {seg_where} has id {segment["id"]}: segment ids '
                                 'must be unique per image and non-zero (0 is void)')
            seen_ids.add(segment['id'])
            if category_id not in label_of:
                ignored_ids.append(segment['id'])  # class left out by metainfo: void
                continue
            segments.append(dict(segment, label=label_of[category_id],
                                 is_thing=is_thing[category_id]))
        return dict(
            img_path=osp.join(self.data_prefix['img'], image['file_name']),
            img_id=image['id'],
            seg_map_path=osp.join(self.data_prefix['seg'], png_name),
            segments_info=segments,
            ignored_segment_ids=ignored_ids,
            height=image['height'],
            width=image['width'])

    # ------------------------------------------------------------------------------- filtering
    def filter_data(self) -> List[dict]:
        """Training only: drop images without instances or smaller than ``min_size``."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = []
        for info in self.data_list:
            has_instance = self._has_instance(info)
            if (has_instance or not filter_empty_gt) and min(info['width'],
                                                             info['height']) >= min_size:
                kept.append(info)
        if not kept:
            raise ValueError(f'filter_cfg={self.filter_cfg} drops all {len(self.data_list)} '
                             f'images of {self.ann_file}')
        if len(kept) < len(self.data_list):
            print_log(f'{type(self).__name__}: filter_cfg={self.filter_cfg} dropped '
                      f'{len(self.data_list) - len(kept)} of {len(self.data_list)} images of '
                      f'{self.ann_file}', logger='current')
        return kept

    @staticmethod
    def _has_instance(info: dict) -> bool:
        """Whether the data info has a non-crowd thing (``filter_empty_gt`` keeps it)."""
        return any(seg['is_thing'] and not seg['iscrowd'] for seg in info['segments_info'])

    def get_cat_ids(self, idx: int) -> List[int]:
        """Contiguous labels of the segments of image ``idx`` (for class-balanced sampling)."""
        return [segment['label'] for segment in self.get_data_info(idx)['segments_info']]
