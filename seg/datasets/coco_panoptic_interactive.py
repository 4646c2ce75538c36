"""COCO panoptic for interactive (point / box prompt) segmentation.

The reference's ``CocoPanopticSAMDataset`` (``seg/datasets/coco_pan_sam.py``).

The same files and classes as :class:`CocoPanopticDataset`; every non-crowd segment, stuff
included, is a promptable instance. The pipeline turns stuff into instances
(``AddStuffInstances``, which reads ``num_things_classes`` from each data info) and samples
prompts (``GeneratePrompts`` for training, ``GenerateEvalClicks`` for evaluation).
"""
from typing import List

from mmengine.logging import print_log

from seg.registry import DATASETS
from .coco_panoptic import CocoPanopticDataset


@DATASETS.register_module()
class CocoPanopticInteractiveDataset(CocoPanopticDataset):
    """COCO-panoptic-format data where every segment is an instance (see module doc).

    Same arguments as :class:`CocoPanopticDataset`; ``filter_cfg.filter_empty_gt`` keeps the
    images with at least one non-crowd segment of any class (things or stuff).
    """

    def load_data_list(self) -> List[dict]:
        infos = super().load_data_list()
        for info in infos:
            info['num_things_classes'] = self._metainfo['num_things_classes']
        return infos

    def filter_data(self) -> List[dict]:
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        kept = [info for info in self.data_list
                if (not filter_empty_gt or any(not s['iscrowd'] for s in info['segments_info']))
                and min(info['width'], info['height']) >= min_size]
        if not kept:
            raise ValueError(f'filter_cfg={self.filter_cfg} drops all {len(self.data_list)} '
                             f'images of {self.ann_file}')
        if len(kept) < len(self.data_list):
            print_log(f'{type(self).__name__}: filter_cfg={self.filter_cfg} dropped '
                      f'{len(self.data_list) - len(kept)} of {len(self.data_list)} images',
                      logger='current')
        return kept
