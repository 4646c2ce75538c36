# OMG-Seg ConvNeXt-L, interactive segmentation on COCO panoptic val (reference
# `eval_m2_convl_ov_coco_pan_point.py`): every segment (stuff included) is prompted by one click
# at its interior point farthest from the boundary; the metric is the mean IoU of the predicted
# masks (interactive/mIoU@1). Set max_clicks=20 on InteractiveMetric for the NoC@85/90 and
# mIoU@k click curve (not in the reference).
#   python tools/test.py configs/omg_seg/eval_omg_convl_coco_interactive.py --checkpoint CKPT
from mmengine.config import read_base

from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets.coco_panoptic_interactive import *  # noqa: F401,F403
    from .._base_.datasets.coco_panoptic_lsj import coco_vocabulary
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403

model.vocabulary = coco_vocabulary
model.panoptic_head.update(logit_scale=4.6052)
model.prompt_encoder = dict(type=PromptEncoder, point_radius=3, point_type_embedding=False)
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)

train_dataloader = None
val_dataloader = None
val_evaluator = None
