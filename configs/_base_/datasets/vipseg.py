# VIPSeg (the reference's seg/configs/_base_/datasets/vipseg.py and
# m2ov_val/eval_m2_convl_300q_ov_vipseg.py): the 720p copy
# (tools/dataset_converters/vipseg_to_720p.py), 2-frame clips (interval 2) at 1280x736 with shared
# resize (0.8-2.0) / crop / flip; every frame at test. VPQ over the 0/5/10/15-frame windows (1-4
# frames) with STQ, the VPQ6 windows (1, 2, 4, 6 frames) and VSS mIoU.
from mmengine.config import read_base

from seg.datasets import VIPSegDataset
from seg.evaluation.metrics import VideoSemSegMetric, VIPSegMetric

with read_base():
    from ._loaders import test_loader, train_loader
    from .video_clip_pipelines import clip_test_pipeline, clip_train_pipeline, image_size

data_root = 'data/VIPSeg/'

# Class names of panoVIPSeg_categories.json, things first (58 things, 66 stuff).
vipseg_thing_classes = [
    'door', 'ladder', 'window', 'goal', 'sculpture', 'flag', 'parasol_or_umbrella', 'tent',
    'roadblock', 'car', 'bus', 'truck', 'bicycle', 'motorcycle', 'ship_or_boat', 'raft',
    'airplane', 'person', 'cat', 'dog', 'horse', 'cattle', 'other_animal', 'skateboard',
    'ball', 'box', 'traveling_case_or_trolley_case', 'basket', 'bag_or_package', 'plate',
    'tub_or_bowl_or_pot', 'bottle_or_cup', 'barrel', 'fishbowl', 'bed', 'pillow',
    'table_or_desk', 'chair_or_seat', 'bench', 'sofa', 'gun', 'commode', 'roaster',
    'refrigerator', 'washing_machine', 'Microwave_oven', 'fan', 'painting_or_poster',
    'mirror', 'flower_pot_or_vase', 'clock', 'screen_or_television', 'computer', 'printer',
    'Mobile_phone', 'keyboard', 'instrument', 'train']
vipseg_stuff_classes = [
    'wall', 'ceiling', 'stair', 'escalator', 'Playground_slide', 'handrail_or_fence', 'rail',
    'pillar', 'pole', 'floor', 'ground', 'grass', 'sand', 'athletic_field', 'road', 'path',
    'crosswalk', 'building', 'house', 'bridge', 'tower', 'windmill', 'well_or_well_lid',
    'other_construction', 'sky', 'mountain', 'stone', 'wood', 'ice', 'snowfield',
    'grandstand', 'sea', 'river', 'lake', 'waterfall', 'water', 'billboard_or_Bulletin_Board',
    'pipeline', 'cushion_or_carpet', 'wheeled_machine', 'tyre', 'traffic_light', 'lamp',
    'tree', 'flower', 'other_plant', 'toy', 'ball_net', 'backboard', 'bat',
    'cupboard_or_showcase_or_storage_rack', 'trash_can', 'cage', 'shelf', 'bathtub',
    'other_machine', 'curtain', 'textiles', 'clothes', 'book', 'tool', 'blackboard', 'tissue',
    'other_electronic_product', 'fruit', 'food']
vocabulary = dict(name='vipseg', thing_classes=vipseg_thing_classes,
                  stuff_classes=vipseg_stuff_classes)

train_pipeline = clip_train_pipeline
test_pipeline = clip_test_pipeline  # annotations at the (720p) frame size

_vipseg = dict(type=VIPSegDataset, data_root=data_root,
               data_prefix=dict(img='imgs/', seg='panomasks/'), frame_height=720,
               dataset_name='vipseg')
train_dataloader = dict(train_loader, dataset=dict(
    _vipseg, ann_file='train.txt', filter_cfg=dict(min_frames=3), pipeline=train_pipeline))
val_dataloader = dict(test_loader, batch_size=1, dataset=dict(
    _vipseg, ann_file='val.txt', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = [
    dict(type=VIPSegMetric, windows=(1, 2, 3, 4), metrics=('VPQ', 'STQ')),
    dict(type=VIPSegMetric, windows=(1, 2, 4, 6), metrics=('VPQ',), prefix='vipseg_vpq6'),
    dict(type=VideoSemSegMetric),  # VSS mIoU of the per-frame semantic maps
]
test_evaluator = val_evaluator
del vipseg_thing_classes, vipseg_stuff_classes, train_loader, test_loader, _vipseg
