# One OMG-Seg ConvNeXt-L checkpoint tested on every task in one run (MultiTaskTestLoop), each
# dataset in its own classes and with the settings of its own eval config in this folder:
# COCO panoptic (PQ, mask AP, mIoU), Cityscapes (PQ), VIPSeg (VPQ, STQ, VSS mIoU), YouTube-VIS
# 2019 (results file for the server), DAVIS 2017 (J&F) and COCO interactive (one-click mIoU).
# All metrics land in <work_dir>/metrics.json. (ADE20K open-vocabulary needs the model-level
# CLIP fusion: omg_convl_ade20k_panoptic_ov_eval.py.)
#   python tools/test.py configs/omg_seg/eval_omg_convl_all_tasks.py --checkpoint CKPT
# The model's vocabulary is the released models' training vocabulary (139 things, 101 stuff);
# every dataset's classes are found in it by synonym, so its text embeddings serve every task.
from mmengine.config import read_base

from seg.engine.multi_task_test_loop import MultiTaskTestLoop
from seg.models.video import VideoSegDataPreprocessor
from seg.models.heads import PromptEncoder

with read_base():
    from .._base_.datasets.cityscapes_panoptic import test_dataloader as cityscapes_test
    from .._base_.datasets.cityscapes_panoptic import test_evaluator as cityscapes_metrics
    from .._base_.datasets.coco_panoptic_interactive import test_dataloader as clicks_test
    from .._base_.datasets.coco_panoptic_interactive import test_evaluator as clicks_metrics
    from .._base_.datasets.coco_panoptic_lsj import coco_vocabulary
    from .._base_.datasets.coco_panoptic_lsj import test_dataloader as coco_test
    from .._base_.datasets.coco_panoptic_lsj import test_evaluator as coco_metrics
    from .._base_.datasets.davis import test_dataloader as davis_test
    from .._base_.datasets.davis import test_evaluator as davis_metrics
    from .._base_.datasets.vipseg import test_dataloader as vipseg_test
    from .._base_.datasets.vipseg import test_evaluator as vipseg_metrics
    from .._base_.datasets.youtube_vis_2019 import test_dataloader as yt19_test
    from .._base_.datasets.youtube_vis_2019 import test_evaluator as yt19_metrics
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.omg_convl import *  # noqa: F401,F403

model.data_preprocessor.type = VideoSegDataPreprocessor
model.vocabulary = dict(file='ext/class_names/th139_st101.json', name='th139_st101')
model.panoptic_head.update(logit_scale=4.6052)
model.prompt_encoder = dict(type=PromptEncoder, point_radius=3, point_type_embedding=False)
model.text_embeddings = dict(cache_dir=None, generate_if_missing=True)

_image = dict(panoptic_on=True, instance_on=True, semantic_on=True)
_tubes = dict(whole_clip_thr=0, small_clip_thr=15, overlap=0)
test_dataloader = coco_test
test_evaluator = coco_metrics
test_cfg = dict(
    type=MultiTaskTestLoop,
    vocabulary=coco_vocabulary,  # COCO's json names are spelled by the synonym lists
    model_settings=dict(test_cfg=_image),
    extra_tasks=[
        dict(dataloader=cityscapes_test, evaluator=cityscapes_metrics, vocabulary='dataset',
             model_settings=dict(test_cfg=dict(panoptic_on=True, instance_on=False,
                                               semantic_on=False))),
        dict(dataloader=vipseg_test, evaluator=vipseg_metrics, vocabulary='dataset',
             model_settings=dict(
                 test_cfg=dict(panoptic_on=True, instance_on=False, semantic_on=True),
                 video_cfg=dict(clip_size=2, clip_size_small=3, **_tubes))),
        dict(dataloader=yt19_test, evaluator=yt19_metrics, vocabulary='dataset',
             model_settings=dict(
                 test_cfg=dict(panoptic_on=False, instance_on=True, semantic_on=False),
                 video_cfg=dict(clip_size=5, clip_size_small=3, **_tubes))),
        dict(dataloader=davis_test, evaluator=davis_metrics,  # class-agnostic: model classes
             model_settings=dict(
                 test_cfg=dict(panoptic_on=False, instance_on=False, semantic_on=False),
                 video_cfg=dict(clip_size=5, clip_size_small=3, vos_on=True, num_proposals=25,
                                **_tubes))),
        dict(dataloader=clicks_test, evaluator=clicks_metrics, vocabulary=coco_vocabulary,
             model_settings=dict(interactive_test_cfg=dict(with_panoptic=False))),
    ])
del _image, _tubes
