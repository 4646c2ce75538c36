# Building blocks shared by the dataset base configs (not settings of their own: a config that
# imports them deletes the names at its end, so they never reach the built config).
#
# Dataloaders: training shuffles (DefaultSampler), test keeps the order and every sample;
# 2 images per GPU and 2 workers kept alive between epochs; pseudo_collate leaves the samples a
# list (the model's data preprocessor pads and stacks them). Use with overrides as needed:
#   train_dataloader = dict(train_loader, dataset=dict(...))
#   val_dataloader = dict(test_loader, batch_size=1, dataset=dict(...))
from mmengine.dataset import DefaultSampler, pseudo_collate

train_loader = dict(batch_size=2, num_workers=2, persistent_workers=True,
                    sampler=dict(type=DefaultSampler, shuffle=True),
                    collate_fn=dict(type=pseudo_collate))
test_loader = dict(train_loader, drop_last=False, sampler=dict(type=DefaultSampler, shuffle=False))

# The files of the COCO panoptic splits (relative to a COCO-layout data_root), used by the image,
# interactive and pseudo-video COCO datasets and by the toy configs.
coco_train_files = dict(ann_file='annotations/panoptic_train2017.json',
                        data_prefix=dict(img='train2017/', seg='annotations/panoptic_train2017/'))
coco_val_files = dict(ann_file='annotations/panoptic_val2017.json',
                      data_prefix=dict(img='val2017/', seg='annotations/panoptic_val2017/'))
