# The toy model co-trained, as the paper's model, on three kinds of data at once: toy COCO
# panoptic images as 2-frame pseudo-videos, toy videos (VIPSeg layout) and click prompts on the
# toy COCO images (class-agnostic), in one merged vocabulary (`JointDataset`), every batch from
# one source (`SingleSourceBatchSampler`). One checkpoint is then tested on every task in one
# run (`MultiTaskTestLoop`, each dataset in its own classes): PQ / mask AP / mIoU and the click
# protocol on the toy COCO validation images, VIS AP / VPQ / STQ / VSS mIoU / J&F on the toy
# validation videos; all metrics land in <work_dir>/metrics.json.
#   python tools/make_toy_data.py && python tools/make_toy_data.py --video
#   OMP_NUM_THREADS=1 python tools/train.py configs/toy/omg_toy_joint.py \
#       --work-dir work_dirs/toy_joint
#   python tools/test.py configs/toy/omg_toy_joint.py --work-dir work_dirs/toy_joint \
#       --checkpoint $(cat work_dirs/toy_joint/last_checkpoint)
from mmengine.config import read_base
from mmengine.hooks import CheckpointHook, LoggerHook
from mmengine.optim import LinearLR, MultiStepLR
from mmengine.runner import IterBasedTrainLoop

from seg.datasets import (CocoPanopticDataset, CocoPanopticInteractiveDataset, JointDataset,
                          SingleSourceBatchSampler)
from seg.datasets.transforms import (ClipTransform, ImageToClip, LoadImageFromFile,
                                     LoadPanopticAnnotations, PackVideoInputs, RandomCrop,
                                     RandomFlip, RandomResize)
from seg.engine.multi_task_test_loop import MultiTaskTestLoop
from seg.evaluation.metrics import (CocoInstanceMetric, CocoPanopticMetric, InteractiveMetric,
                                    SemSegMetric)

with read_base():
    from .._base_.datasets._loaders import coco_train_files, train_loader
    from .omg_toy_interactive import (click_decoder_positions, click_paramwise_keys,
                                      click_prompt_encoder, click_protocol, click_test_cfg,
                                      interactive_test_pipeline, interactive_train_pipeline)
    from .omg_toy_interactive import test_dataloader as click_test_dataloader
    from .omg_toy_video import *  # noqa: F401,F403

coco_root = data_root  # 'data/toy_coco/'
coco_vocabulary = dict(ann_file=coco_root + 'annotations/panoptic_train2017.json',
                       name='toy_coco')
video_vocabulary = model.vocabulary  # the toy videos' classes (name 'toy_video')
# The model predicts the merged vocabulary of the labelled sources, built from the same
# vocabularies (in the same order) as the JointDataset below; None = the class-agnostic prompts.
model.vocabulary = dict(merge=[coco_vocabulary, video_vocabulary, None])
model.update(prompt_encoder=click_prompt_encoder, interactive_test_cfg=click_test_cfg)
# The interactive toy's prompt settings (issue 14): decoder position codes at cell centres,
# no weight decay on the prompt embeddings.
model.panoptic_head.positional_encoding = click_decoder_positions
optim_wrapper.paramwise_cfg.custom_keys.update(click_paramwise_keys)

coco_clip_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadPanopticAnnotations),
    dict(type=ImageToClip, num_frames=2),
    dict(type=ClipTransform, share_random_params=True, transforms=[
        dict(type=RandomFlip, prob=0.5),
        dict(type=RandomResize, scale=crop_size, ratio_range=(0.8, 1.25), keep_ratio=True)]),
    dict(type=ClipTransform, share_random_params=False, transforms=[
        dict(type=RandomCrop, crop_size=crop_size, crop_type='absolute',
             allow_negative_crop=True)]),
    dict(type=PackVideoInputs),
]
_coco_train = dict(data_root=coco_root, **coco_train_files,
                   filter_cfg=dict(filter_empty_gt=True, min_size=16), dataset_name='toy_coco')
video_train_dataset = train_dataloader.dataset  # toy VIPSeg-layout videos, 2-frame clips
train_dataloader = dict(
    train_loader, batch_size=4, num_workers=1, persistent_workers=False,
    batch_sampler=dict(type=SingleSourceBatchSampler),
    dataset=dict(
        type=JointDataset,
        datasets=[
            dict(type=CocoPanopticDataset, pipeline=coco_clip_pipeline, **_coco_train),
            video_train_dataset,
            dict(type=CocoPanopticInteractiveDataset, pipeline=interactive_train_pipeline,
                 **_coco_train),
        ],
        data_tags=['panoptic', 'video', 'interactive'],
        # 200 images, 48 videos x 4, 200 prompt images: about a third of the steps each.
        repeats=[1, 4, 1]))

# Test: the toy COCO validation images with clicks (PQ, mask AP, mIoU and the click protocol in
# one pass), then the toy validation videos (the video toy's data and metrics).
video_test_dataloader = test_dataloader
video_test_evaluator = test_evaluator
test_dataloader = click_test_dataloader  # the interactive toy's (its click pipeline)
test_dataloader.dataset.update(dataset_name='toy_coco')
test_evaluator = [dict(type=CocoPanopticMetric), dict(type=CocoInstanceMetric),
                  dict(type=SemSegMetric), dict(type=InteractiveMetric, **click_protocol)]
test_cfg = dict(type=MultiTaskTestLoop, vocabulary='dataset', extra_tasks=[
    dict(dataloader=video_test_dataloader, evaluator=video_test_evaluator,
         vocabulary='dataset')])

# Steps of different sources use different parameters (prompt encoding only on prompt
# steps): DDP must not wait for gradients of the unused ones.
find_unused_parameters = True

max_iters = 1500
train_cfg = dict(type=IterBasedTrainLoop, max_iters=max_iters)
param_scheduler = [
    dict(type=LinearLR, start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type=MultiStepLR, begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1),
]
default_hooks.update(
    logger=dict(type=LoggerHook, interval=50),
    checkpoint=dict(type=CheckpointHook, by_epoch=False, interval=500, max_keep_ckpts=1))
del _coco_train, click_test_dataloader, coco_train_files, train_loader
