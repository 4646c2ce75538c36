# The close-set co-training variant (the reference's
# `m2_train_close_set/omg_convl_coco_vid_ade_yt19_yt21_vip_city.py`): the ConvNeXt-L backbone is
# trained too (lr x0.1), ADE20K panoptic is added (x1) and there is no interactive data:
# COCO pseudo-videos x1, ADE x1, YouTube-VIS 2019 x15, YouTube-VIS 2021 x15, VIPSeg x15,
# Cityscapes x15. The reference's merged vocabulary has 196 things / 124 stuff with its own ADE
# synonym lists; here ADE's json names are merged, so the counts can differ slightly (the model
# and the dataset build the same merge, checked before the first step). Learning rate and launch
# as the main config.
#   python tools/gen_cls.py \
#       configs/omg_seg/omg_convl_close_set_coco_vid_ade_yt19_yt21_vip_city_12e.py
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.ade20k_panoptic import ade_vocabulary
    from .._base_.datasets.ade20k_panoptic import train_dataloader as ade_train
    from .omg_convl_coco_vid_yt19_yt21_vip_city_cocosam_12e import *  # noqa: F401,F403

model.backbone.frozen = False
model.prompt_encoder = None
source_vocabularies = [coco_vocabulary, ade_vocabulary, yt19_vocabulary, yt21_vocabulary,
                       vipseg_vocabulary, cityscapes_vocabulary]
model.vocabulary = dict(merge=source_vocabularies)
train_dataloader.dataset.update(
    datasets=[coco_video_train.dataset, ade_train.dataset, yt19_train.dataset,
              yt21_train.dataset, vipseg_train.dataset, cityscapes_train.dataset],
    data_tags=['panoptic', 'panoptic', 'video', 'video', 'video', 'panoptic'],
    repeats=[1, 1, 15, 15, 15, 15],
    vocabularies=source_vocabularies)
