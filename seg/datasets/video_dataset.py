"""Base class of the video datasets: one data info per video, frames listed inside.

Each data info is ``dict(video_id, video_name, video_length, ann_format, frames=[...])`` (plus
dataset-specific keys such as ``label_table``); each frame is ``dict(img_path, frame_id,
...annotation fields of its format)``. The pipeline starts with
``VideoClipSample`` (which frames) and ``ClipTransform`` (per-frame loading and
augmentation), see ``seg.datasets.transforms.video``. Annotations are decoded when a frame is
loaded, so no cache is written anywhere.
"""
import copy
import os
import os.path as osp
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from seg.registry import TRANSFORMS
from seg.utils.config_keys import check_known_keys
from .coco_panoptic import _fallback_color

VIDEO_FILTER_KEYS = ('min_frames', 'filter_empty_gt')


def class_metainfo(categories: Sequence[dict], source: str, dataset_name: str,
                   requested: Optional[Mapping] = None) -> dict:
    """Metainfo of a category list (``id``, ``name``, optional ``isthing`` (default 1) and
    ``color``): classes things first (each group in list order), category_ids, palette...

    ``requested`` may hold ``classes`` (a subset of the names, in the order wanted; things are
    then put before stuff); other keys are kept as given.
    """
    by_name: Dict[str, dict] = {}
    for index, category in enumerate(categories):
        for key in ('id', 'name'):
            if key not in category:
                raise KeyError(f'{source}: categories[{index}] has no "{key}"')
        if category['name'] in by_name or any(c['id'] == category['id']
                                              for c in by_name.values()):
            raise ValueError(f'{source}: categories[{index}] repeats id {category["id"]} or '
                             f'name "{category["name"]}"')
        by_name[category['name']] = category
    requested = dict(requested or {})
    names = list(requested.pop('classes', by_name))
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise KeyError(f'{source}: classes {unknown} from metainfo are not categories '
                       f'(categories: {sorted(by_name)})')
    if len(set(names)) != len(names):
        raise ValueError(f'metainfo lists a class twice: {names}')
    # The model's label convention: things first, then stuff (each in the given order).
    things = [n for n in names if by_name[n].get('isthing', 1)]
    stuff = [n for n in names if not by_name[n].get('isthing', 1)]
    classes = things + stuff
    metainfo = dict(requested)
    metainfo.update(
        classes=tuple(classes), thing_classes=tuple(things), stuff_classes=tuple(stuff),
        category_ids=tuple(by_name[name]['id'] for name in classes),
        num_things_classes=len(things), num_stuff_classes=len(stuff),
        palette=[tuple(by_name[name].get('color', _fallback_color(i)))
                 for i, name in enumerate(classes)],
        dataset_name=dataset_name)
    return metainfo


class BaseVideoDataset(BaseDataset):
    """Video dataset base: subclasses implement ``read_categories`` and ``load_data_list``.

    Args:
        ann_file, data_root, data_prefix, pipeline, test_mode, indices, serialize_data,
            max_refetch: as mmengine's ``BaseDataset``.
        filter_cfg: training-only: ``min_frames`` drops videos with fewer frames (a clip of
            ``num_frames`` frames every ``interval`` needs ``(num_frames - 1) * interval + 1``);
            ``filter_empty_gt`` (datasets whose json lists the objects) drops videos without
            any object. Dropped videos are counted in the log.
        metainfo: optional ``classes`` (subset / order of category names); other keys kept.
        dataset_name: vocabulary name (text-embedding file name); defaults to the class name.
    """
    ANN_FORMAT = ''

    def __init__(self, ann_file: str = '', data_root: str = '',
                 data_prefix: Optional[Mapping] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (), test_mode: bool = False,
                 filter_cfg: Optional[Mapping] = None, metainfo: Optional[Mapping] = None,
                 dataset_name: Optional[str] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True, lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        filter_cfg = dict(filter_cfg or {})
        check_known_keys(filter_cfg, VIDEO_FILTER_KEYS, 'filter_cfg')
        pipeline = [TRANSFORMS.build(step) if isinstance(step, Mapping) else step
                    for step in pipeline]
        super().__init__(ann_file=ann_file, metainfo=None, data_root=data_root,
                         data_prefix=dict(data_prefix or self.default_data_prefix()),
                         filter_cfg=filter_cfg, indices=indices,
                         serialize_data=serialize_data, pipeline=list(pipeline),
                         test_mode=test_mode, lazy_init=True, max_refetch=max_refetch)
        categories, source = self.read_categories()
        self._metainfo = class_metainfo(categories, source,
                                        dataset_name or type(self).__name__,
                                        copy.deepcopy(dict(metainfo or {})))
        if not lazy_init:
            self.full_init()

    @classmethod
    def default_data_prefix(cls) -> dict:
        return {}

    def read_categories(self) -> Tuple[List[dict], str]:
        """(category list, where it was read from) -- subclasses override."""
        raise NotImplementedError

    def label_table(self) -> Dict[int, Tuple[int, bool]]:
        """{category id: (contiguous label, is_thing)} of the selected classes."""
        meta = self._metainfo
        return {cat_id: (label, label < meta['num_things_classes'])
                for label, cat_id in enumerate(meta['category_ids'])}

    def video_info(self, video_id, video_name: str, frames: List[dict], **extra) -> dict:
        """A data info in the layout every video transform expects."""
        if not frames:
            raise ValueError(f'{self.ann_file}: video {video_name!r} has no frames')
        for frame_id, frame in enumerate(frames):
            frame.setdefault('frame_id', frame_id)
        return dict(video_id=video_id, video_name=video_name, video_length=len(frames),
                    ann_format=self.ANN_FORMAT, frames=frames, **extra)

    def paired_frames(self, name: str) -> List[dict]:
        """Frames of video ``name``: the ``.jpg`` files of ``<img prefix>/<name>`` in name order,
        each with the ``.png`` of the same stem in ``<seg prefix>/<name>``."""
        image_dir = osp.join(self.data_prefix['img'], name)
        seg_dir = osp.join(self.data_prefix['seg'], name)
        for folder in (image_dir, seg_dir):
            if not osp.isdir(folder):
                raise FileNotFoundError(f'{self.ann_file} lists video {name!r} but {folder} '
                                        'does not exist')
        stems = sorted(osp.splitext(f)[0] for f in os.listdir(image_dir) if f.endswith('.jpg'))
        masks = sorted(osp.splitext(f)[0] for f in os.listdir(seg_dir) if f.endswith('.png'))
        if stems != masks:
            differing = sorted(set(stems) ^ set(masks))[:5]
            raise ValueError(f'video {name!r}: frames and annotation PNGs differ (e.g. '
                             f'{differing}) in {image_dir} and {seg_dir}')
        return [dict(img_path=osp.join(image_dir, stem + '.jpg'),
                     seg_map_path=osp.join(seg_dir, stem + '.png')) for stem in stems]

    def read_name_list(self, what: str) -> List[str]:
        """Non-empty lines of ``ann_file`` (video names)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{what} list not found: {self.ann_file}')
        with open(self.ann_file, encoding='utf-8') as handle:
            names = [line.strip() for line in handle if line.strip()]
        if not names:
            raise ValueError(f'{self.ann_file} lists no {what}')
        if len(set(names)) != len(names):
            raise ValueError(f'{self.ann_file} lists a {what} twice')
        return names

    def filter_data(self) -> List[dict]:
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        min_frames = int(self.filter_cfg.get('min_frames', 1))
        empty = self.filter_cfg.get('filter_empty_gt', False)
        kept = [info for info in self.data_list if info['video_length'] >= min_frames
                and not (empty and not self.has_objects(info))]
        if not kept:
            raise ValueError(f'filter_cfg={self.filter_cfg} drops all {len(self.data_list)} '
                             f'videos of {self.ann_file}')
        if len(kept) < len(self.data_list):
            print_log(f'{type(self).__name__}: filter_cfg={self.filter_cfg} dropped '
                      f'{len(self.data_list) - len(kept)} of {len(self.data_list)} videos',
                      logger='current')
        return kept

    def has_objects(self, info: dict) -> bool:
        raise ValueError(f'{type(self).__name__} cannot tell empty videos before decoding '
                         'their masks: remove filter_empty_gt from filter_cfg')
