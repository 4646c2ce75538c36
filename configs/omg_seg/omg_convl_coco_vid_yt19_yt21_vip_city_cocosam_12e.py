# The yt19 + yt21 variant of the main training run (the reference's
# `m2ov_train/omg_convl_vlm_fix_12e_ov_coco_vid_yt19_y21_vip_city_cocopansam.py`): COCO
# pseudo-videos x1, YouTube-VIS 2019 x15, YouTube-VIS 2021 x15, VIPSeg x15, Cityscapes x15, COCO
# clicks x1; merged vocabulary of 139 things and 101 stuff classes (=
# ext/class_names/th139_st101.json, the released models' vocabulary). Learning rate and launch: as
# the main config.
#   python tools/gen_cls.py configs/omg_seg/omg_convl_coco_vid_yt19_yt21_vip_city_cocosam_12e.py
#   bash tools/dist.sh train configs/omg_seg/omg_convl_coco_vid_yt19_yt21_vip_city_cocosam_12e.py 8
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.youtube_vis_2021 import train_dataloader as yt21_train
    from .._base_.datasets.youtube_vis_2021 import vocabulary as yt21_vocabulary
    from .omg_convl_coco_vid_yt19_vip_city_cocosam_12e import *  # noqa: F401,F403

source_vocabularies = [coco_vocabulary, yt19_vocabulary, yt21_vocabulary, vipseg_vocabulary,
                       cityscapes_vocabulary, None]
model.vocabulary = dict(merge=source_vocabularies)  # 139 things + 101 stuff
train_dataloader.dataset.update(
    datasets=[coco_video_train.dataset, yt19_train.dataset, yt21_train.dataset,
              vipseg_train.dataset, cityscapes_train.dataset, coco_prompt_train.dataset],
    data_tags=['panoptic', 'video', 'video', 'video', 'panoptic', 'interactive'],
    repeats=[1, 15, 15, 15, 15, 1],
    vocabularies=source_vocabularies)
