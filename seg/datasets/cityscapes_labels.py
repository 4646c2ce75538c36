"""The Cityscapes label definitions (facts of the dataset, as in cityscapesScripts' label list).

``label_id`` is the value in ``*_gtFine_labelIds.png`` (and ``instanceIds // 1000``),
``train_id`` the 19-class training index (255: not trained / void). Classes with
``ignore_in_eval`` are void in panoptic evaluation; ``has_instances`` marks the things.
"""
from typing import Dict, NamedTuple, Tuple


class CityscapesLabel(NamedTuple):
    name: str
    label_id: int
    train_id: int
    category: str
    has_instances: bool
    ignore_in_eval: bool
    color: Tuple[int, int, int]


def _label(name, label_id, train_id, category, has_instances, ignore_in_eval, color):
    return CityscapesLabel(name, label_id, train_id, category, bool(has_instances),
                           bool(ignore_in_eval), color)


# name, label id, train id, category, has instances, ignored in evaluation, RGB colour
CITYSCAPES_LABELS: Tuple[CityscapesLabel, ...] = (
    _label('unlabeled', 0, 255, 'void', 0, 1, (0, 0, 0)),
    _label('ego vehicle', 1, 255, 'void', 0, 1, (0, 0, 0)),
    _label('rectification border', 2, 255, 'void', 0, 1, (0, 0, 0)),
    _label('out of roi', 3, 255, 'void', 0, 1, (0, 0, 0)),
    _label('static', 4, 255, 'void', 0, 1, (0, 0, 0)),
    _label('dynamic', 5, 255, 'void', 0, 1, (111, 74, 0)),
    _label('ground', 6, 255, 'void', 0, 1, (81, 0, 81)),
    _label('road', 7, 0, 'flat', 0, 0, (128, 64, 128)),
    _label('sidewalk', 8, 1, 'flat', 0, 0, (244, 35, 232)),
    _label('parking', 9, 255, 'flat', 0, 1, (250, 170, 160)),
    _label('rail track', 10, 255, 'flat', 0, 1, (230, 150, 140)),
    _label('building', 11, 2, 'construction', 0, 0, (70, 70, 70)),
    _label('wall', 12, 3, 'construction', 0, 0, (102, 102, 156)),
    _label('fence', 13, 4, 'construction', 0, 0, (190, 153, 153)),
    _label('guard rail', 14, 255, 'construction', 0, 1, (180, 165, 180)),
    _label('bridge', 15, 255, 'construction', 0, 1, (150, 100, 100)),
    _label('tunnel', 16, 255, 'construction', 0, 1, (150, 120, 90)),
    _label('pole', 17, 5, 'object', 0, 0, (153, 153, 153)),
    _label('polegroup', 18, 255, 'object', 0, 1, (153, 153, 153)),
    _label('traffic light', 19, 6, 'object', 0, 0, (250, 170, 30)),
    _label('traffic sign', 20, 7, 'object', 0, 0, (220, 220, 0)),
    _label('vegetation', 21, 8, 'nature', 0, 0, (107, 142, 35)),
    _label('terrain', 22, 9, 'nature', 0, 0, (152, 251, 152)),
    _label('sky', 23, 10, 'sky', 0, 0, (70, 130, 180)),
    _label('person', 24, 11, 'human', 1, 0, (220, 20, 60)),
    _label('rider', 25, 12, 'human', 1, 0, (255, 0, 0)),
    _label('car', 26, 13, 'vehicle', 1, 0, (0, 0, 142)),
    _label('truck', 27, 14, 'vehicle', 1, 0, (0, 0, 70)),
    _label('bus', 28, 15, 'vehicle', 1, 0, (0, 60, 100)),
    _label('caravan', 29, 255, 'vehicle', 1, 1, (0, 0, 90)),
    _label('trailer', 30, 255, 'vehicle', 1, 1, (0, 0, 110)),
    _label('train', 31, 16, 'vehicle', 1, 0, (0, 80, 100)),
    _label('motorcycle', 32, 17, 'vehicle', 1, 0, (0, 0, 230)),
    _label('bicycle', 33, 18, 'vehicle', 1, 0, (119, 11, 32)),
    _label('license plate', -1, -1, 'vehicle', 0, 1, (0, 0, 142)),
)

LABEL_BY_ID: Dict[int, CityscapesLabel] = {label.label_id: label for label in CITYSCAPES_LABELS}
EVAL_LABELS: Tuple[CityscapesLabel, ...] = tuple(
    label for label in CITYSCAPES_LABELS if not label.ignore_in_eval)
# The 19 evaluated classes in train-id order: 8 things, then 11 stuff, as the model's labels.
CITYSCAPES_THING_CLASSES: Tuple[str, ...] = tuple(
    label.name for label in sorted(EVAL_LABELS, key=lambda lb: lb.train_id)
    if label.has_instances)
CITYSCAPES_STUFF_CLASSES: Tuple[str, ...] = tuple(
    label.name for label in sorted(EVAL_LABELS, key=lambda lb: lb.train_id)
    if not label.has_instances)
