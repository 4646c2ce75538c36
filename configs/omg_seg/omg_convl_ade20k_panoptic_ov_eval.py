# Open-vocabulary ADE20K panoptic evaluation of the joint OMG-Seg ConvNeXt-L model (the reference's
# m2ov_val/eval_m2_convl_300q_ov_ade.py): the model never saw ADE20K; its 150 classes are classified
# by the decoder and by the frozen CLIP (mask pooling), fused geometrically with alpha 0.4 for
# classes seen in training and beta 0.8 for unseen ones.
#
#   python tools/test.py configs/omg_seg/omg_convl_ade20k_panoptic_ov_eval.py \
#       --checkpoint models/omg_seg_convl.pth
#
# Seen / unseen classes are computed against the training vocabulary of the published model
# (ext/class_names/th139_st101.json: COCO + YouTube-VIS 2019/2021 + VIPSeg + Cityscapes), with
# every synonym compared and names stripped. The reference (tools/test.py with
# calculate_class_overlapping) compared against a joint list (_base_/datasets/joint_dataset.py)
# that included ADE itself and lost secondary synonyms (merged entries keep only the first
# dataset's names; unstripped ', ' names never match); set `model.open_vocab.enabled=False` for
# the decoder's classes alone.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.ade20k_panoptic import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403
    from .._base_.schedules.schedule_12e import *  # noqa: F401,F403

model.vocabulary = dict(ann_file=ade_data_root + 'ade20k_panoptic_val.json',
                        name='ADE20KPanopticDataset')
model.open_vocab = dict(enabled=True, alpha=0.4, beta=0.8,
                        seen_vocabularies=['ext/class_names/th139_st101.json'])
# The reference's ADE evaluation: panoptic only.
model.test_cfg.update(panoptic_on=True, instance_on=False, semantic_on=False)

# Evaluation only.
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = None
val_evaluator = None
val_cfg = None
