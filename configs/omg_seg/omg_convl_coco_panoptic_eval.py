# Evaluate / run the released ConvNeXt-L OMG-Seg model (`omg_seg_convl.pth`, converted with
# tools/convert_checkpoint.py) on COCO panoptic: PQ, mask AP and mIoU at test size (1333, 800).
#   python tools/test.py configs/omg_seg/omg_convl_coco_panoptic_eval.py --checkpoint CKPT
# The vocabulary is COCO panoptic's 133 classes with the reference's synonym lists
# (ext/class_names/coco_panoptic.json; no dataset needed for demos); the Python API can replace
# it at run time (`Predictor.set_vocabulary`).
from mmengine.config import read_base

from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets.coco_panoptic_lsj import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403

model.vocabulary = coco_vocabulary
# The released model was trained with box / point prompts (SAM data): keep their parameters.
# Classifier temperature: the reference's literal 4.6052 (exp = 100.003), not ln 100; logits of
# the released weights then match the reference's (tools/reference_check.py).
model.panoptic_head.update(logit_scale=4.6052)
model.prompt_encoder = dict(type=PromptEncoder)  # the released weights include it
# Text embeddings of the vocabulary from the CLIP text tower, generated once and cached
# ($OMGSEG_CACHE/embeddings); `python tools/gen_cls.py CONFIG` does the same ahead of time.
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)
# The CLIP tag stays: the checkpoint replaces the image tower, but the text embeddings are
# computed with the tag's text tower.

# Evaluation only.
train_dataloader = None
val_dataloader = None
val_evaluator = None
