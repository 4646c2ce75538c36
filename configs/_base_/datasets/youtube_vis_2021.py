# YouTube-VIS 2021: as 2019 (same pipelines and metric), its own 40 classes and files.
from mmengine.config import read_base

with read_base():
    from .youtube_vis_2019 import *  # noqa: F401,F403

data_root = 'data/youtube_vis_2021/'
dataset_version = '2021'
vocabulary = dict(name='youtube_vis_2021', thing_classes=[
    'airplane', 'bear', 'bird', 'boat', 'car', 'cat', 'cow', 'deer', 'dog', 'duck',
    'earless_seal', 'elephant', 'fish', 'flying_disc', 'fox', 'frog', 'giant_panda', 'giraffe',
    'horse', 'leopard', 'lizard', 'monkey', 'motorbike', 'mouse', 'parrot', 'person', 'rabbit',
    'shark', 'skateboard', 'snake', 'snowboard', 'squirrel', 'surfboard', 'tennis_racket',
    'tiger', 'train', 'truck', 'turtle', 'whale', 'zebra'])
for _loader, _split in ((train_dataloader, 'train'), (val_dataloader, 'valid')):
    _loader['dataset'].update(data_root=data_root,
                              ann_file=f'annotations/youtube_vis_2021_{_split}.json',
                              dataset_name='youtube_vis_2021')
test_dataloader = val_dataloader
val_evaluator = dict(type=YouTubeVISMetric, format_only=True,
                     outfile_prefix='work_dirs/youtube_vis_2021_results')
test_evaluator = val_evaluator
del _loader, _split
