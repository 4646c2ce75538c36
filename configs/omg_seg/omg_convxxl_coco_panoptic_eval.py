# The released ConvNeXt-XXL OMG-Seg model (`omg_seg_convxxl.pth`) on COCO panoptic; see
# omg_convl_coco_panoptic_eval.py for the ConvNeXt-L twin.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.coco_panoptic_lsj import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convxxl import *  # noqa: F401,F403

model.vocabulary = dict(ann_file=data_root + 'annotations/panoptic_val2017.json',
                        name='coco_panoptic')
model.panoptic_head.update(enable_prompt_queries=True)
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)
