"""ADE20K panoptic (150 classes: 100 things, 50 stuff) in the COCO-panoptic layout.

Layout (the detectron2 conversion, as the reference's ``ADEPanopticOVDataset`` reads it)::

    data/ade/ADEChallengeData2016/
      ade20k_panoptic_{train,val}.json
      ade20k_panoptic_{train,val}/      # PNGs, RGB-encoded segment ids
      images/{training,validation}/

The class list (things first) comes from the json's ``categories``, so the json's category
order does not matter.
"""
from seg.registry import DATASETS
from .coco_panoptic import DEFAULT_FILTER_CFG, CocoPanopticDataset

ADE20K_VAL_PREFIX = dict(img='images/validation/', seg='ade20k_panoptic_val/')


@DATASETS.register_module()
class ADE20KPanopticDataset(CocoPanopticDataset):
    """:class:`CocoPanopticDataset` with the ADE20K panoptic defaults (validation split)."""

    def __init__(self, ann_file: str = 'ade20k_panoptic_val.json',
                 data_root: str = 'data/ade/ADEChallengeData2016/',
                 data_prefix: dict = ADE20K_VAL_PREFIX, filter_cfg=DEFAULT_FILTER_CFG,
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         filter_cfg=filter_cfg, **kwargs)
