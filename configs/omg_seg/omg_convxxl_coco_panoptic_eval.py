# The released ConvNeXt-XXL OMG-Seg model (`omg_seg_convxxl.pth`) on COCO panoptic; see
# omg_convl_coco_panoptic_eval.py for the ConvNeXt-L twin.
from mmengine.config import read_base

from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets.coco_panoptic_lsj import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convxxl import *  # noqa: F401,F403

model.vocabulary = coco_vocabulary
# The released model was trained with box / point prompts (SAM data): keep their parameters.
# Classifier temperature: the reference's literal 4.6052 (exp = 100.003), not ln 100; logits of
# the released weights then match the reference's (tools/reference_check.py).
model.panoptic_head.update(logit_scale=4.6052)
model.prompt_encoder = dict(type=PromptEncoder)  # the released weights include it
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)

# Evaluation only.
train_dataloader = None
val_dataloader = None
val_evaluator = None
