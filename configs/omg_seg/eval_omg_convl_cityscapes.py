# OMG-Seg ConvNeXt-L on Cityscapes panoptic val (reference `eval_m2_convl_300q_ov_cityscapes.py`):
# images resized to fit (2048, 1024), panoptic output, PQ. The classes are the correct 8 things
# and 11 stuff (the reference config swapped the counts, so road / sidewalk / building got
# instance ids).
#   python tools/dataset_converters/cityscapes_to_panoptic.py --cityscapes-root data/cityscapes
#   python tools/test.py configs/omg_seg/eval_omg_convl_cityscapes.py --checkpoint CKPT
from mmengine.config import read_base

from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets.cityscapes_panoptic import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403

model.vocabulary = vocabulary
model.panoptic_head.update(logit_scale=4.6052)
model.prompt_encoder = dict(type=PromptEncoder)  # the released weights include it
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)
model.test_cfg.update(panoptic_on=True, instance_on=False, semantic_on=False)

train_dataloader = None
val_dataloader = None
val_evaluator = None
