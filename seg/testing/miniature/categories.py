"""The real category lists of the datasets the miniature copies imitate (facts, not code).

* COCO panoptic (panopticapi's ``panoptic_coco_categories.json``, the order of the official
  ``panoptic_{train,val}2017.json``): 80 things (COCO ids 1-90 with gaps) then 53 stuff
  (ids 92-200). The instance json has the 80 things with the same ids.
* ADE20K panoptic (detectron2 / Mask2Former ``prepare_ade20k_pan_seg.py``): ids 0-149 in the
  order of the 150 semantic classes, names as that script writes them (``"window "`` keeps its
  trailing space), 100 things and 50 stuff.
* YouTube-VIS 2019 / 2021: the 40 official classes each, ids 1-40 in this order.
* VIPSeg (``panoVIPSeg_categories.json`` of the VIPSeg-Dataset repository): ids 0-123,
  58 things and 66 stuff.
* Objects365 v2: the first categories of the 365 (ids 1-10); the miniature copy uses only these.
"""
from typing import List

# (id, name); isthing = id <= 90 (every COCO thing id is below the first stuff id, 92).
_COCO_PANOPTIC = (
    (1, 'person'), (2, 'bicycle'), (3, 'car'), (4, 'motorcycle'), (5, 'airplane'), (6, 'bus'),
    (7, 'train'), (8, 'truck'), (9, 'boat'), (10, 'traffic light'), (11, 'fire hydrant'),
    (13, 'stop sign'), (14, 'parking meter'), (15, 'bench'), (16, 'bird'), (17, 'cat'),
    (18, 'dog'), (19, 'horse'), (20, 'sheep'), (21, 'cow'), (22, 'elephant'), (23, 'bear'),
    (24, 'zebra'), (25, 'giraffe'), (27, 'backpack'), (28, 'umbrella'), (31, 'handbag'),
    (32, 'tie'), (33, 'suitcase'), (34, 'frisbee'), (35, 'skis'), (36, 'snowboard'),
    (37, 'sports ball'), (38, 'kite'), (39, 'baseball bat'), (40, 'baseball glove'),
    (41, 'skateboard'), (42, 'surfboard'), (43, 'tennis racket'), (44, 'bottle'),
    (46, 'wine glass'), (47, 'cup'), (48, 'fork'), (49, 'knife'), (50, 'spoon'), (51, 'bowl'),
    (52, 'banana'), (53, 'apple'), (54, 'sandwich'), (55, 'orange'), (56, 'broccoli'),
    (57, 'carrot'), (58, 'hot dog'), (59, 'pizza'), (60, 'donut'), (61, 'cake'), (62, 'chair'),
    (63, 'couch'), (64, 'potted plant'), (65, 'bed'), (67, 'dining table'), (70, 'toilet'),
    (72, 'tv'), (73, 'laptop'), (74, 'mouse'), (75, 'remote'), (76, 'keyboard'),
    (77, 'cell phone'), (78, 'microwave'), (79, 'oven'), (80, 'toaster'), (81, 'sink'),
    (82, 'refrigerator'), (84, 'book'), (85, 'clock'), (86, 'vase'), (87, 'scissors'),
    (88, 'teddy bear'), (89, 'hair drier'), (90, 'toothbrush'),
    (92, 'banner'), (93, 'blanket'), (95, 'bridge'), (100, 'cardboard'), (107, 'counter'),
    (109, 'curtain'), (112, 'door-stuff'), (118, 'floor-wood'), (119, 'flower'), (122, 'fruit'),
    (125, 'gravel'), (128, 'house'), (130, 'light'), (133, 'mirror-stuff'), (138, 'net'),
    (141, 'pillow'), (144, 'platform'), (145, 'playingfield'), (147, 'railroad'),
    (148, 'river'), (149, 'road'), (151, 'roof'), (154, 'sand'), (155, 'sea'), (156, 'shelf'),
    (159, 'snow'), (161, 'stairs'), (166, 'tent'), (168, 'towel'), (171, 'wall-brick'),
    (175, 'wall-stone'), (176, 'wall-tile'), (177, 'wall-wood'), (178, 'water-other'),
    (180, 'window-blind'), (181, 'window-other'), (184, 'tree-merged'), (185, 'fence-merged'),
    (186, 'ceiling-merged'), (187, 'sky-other-merged'), (188, 'cabinet-merged'),
    (189, 'table-merged'), (190, 'floor-other-merged'), (191, 'pavement-merged'),
    (192, 'mountain-merged'), (193, 'grass-merged'), (194, 'dirt-merged'), (195, 'paper-merged'),
    (196, 'food-other-merged'), (197, 'building-other-merged'), (198, 'rock-merged'),
    (199, 'wall-other-merged'), (200, 'rug-merged'),
)
COCO_PANOPTIC_CATEGORIES: List[dict] = [
    dict(id=cat_id, name=name, isthing=int(cat_id <= 90)) for cat_id, name in _COCO_PANOPTIC]
COCO_INSTANCE_CATEGORIES: List[dict] = [
    dict(id=cat['id'], name=cat['name']) for cat in COCO_PANOPTIC_CATEGORIES if cat['isthing']]

# ADE20K: name of category id i at position i; the ids of the 100 thing classes.
_ADE20K_NAMES = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road, route', 'bed', 'window ',
    'grass', 'cabinet', 'sidewalk, pavement', 'person', 'earth, ground', 'door', 'table',
    'mountain, mount', 'plant', 'curtain', 'chair', 'car', 'water', 'painting, picture', 'sofa',
    'shelf', 'house', 'sea', 'mirror', 'rug', 'field', 'armchair', 'seat', 'fence', 'desk',
    'rock, stone', 'wardrobe, closet, press', 'lamp', 'tub', 'rail', 'cushion',
    'base, pedestal, stand', 'box', 'column, pillar', 'signboard, sign',
    'chest of drawers, chest, bureau, dresser', 'counter', 'sand', 'sink', 'skyscraper',
    'fireplace', 'refrigerator, icebox', 'grandstand, covered stand', 'path', 'stairs', 'runway',
    'case, display case, showcase, vitrine', 'pool table, billiard table, snooker table',
    'pillow', 'screen door, screen', 'stairway, staircase', 'river', 'bridge, span', 'bookcase',
    'blind, screen', 'coffee table',
    'toilet, can, commode, crapper, pot, potty, stool, throne', 'flower', 'book', 'hill',
    'bench', 'countertop', 'stove', 'palm, palm tree', 'kitchen island', 'computer',
    'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel, hut, hutch, shack, shanty', 'bus',
    'towel', 'light', 'truck', 'tower', 'chandelier', 'awning, sunshade, sunblind',
    'street lamp', 'booth', 'tv', 'plane', 'dirt track', 'clothes', 'pole', 'land, ground, soil',
    'bannister, banister, balustrade, balusters, handrail',
    'escalator, moving staircase, moving stairway', 'ottoman, pouf, pouffe, puff, hassock',
    'bottle', 'buffet, counter, sideboard', 'poster, posting, placard, notice, bill, card',
    'stage', 'van', 'ship', 'fountain',
    'conveyer belt, conveyor belt, conveyer, conveyor, transporter', 'canopy',
    'washer, automatic washer, washing machine', 'plaything, toy', 'pool', 'stool',
    'barrel, cask', 'basket, handbasket', 'falls', 'tent', 'bag', 'minibike, motorbike',
    'cradle', 'oven', 'ball', 'food, solid food', 'step, stair', 'tank, storage tank',
    'trade name', 'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen',
    'blanket, cover', 'sculpture', 'hood, exhaust hood', 'sconce', 'vase', 'traffic light',
    'tray', 'trash can', 'fan', 'pier', 'crt screen', 'plate', 'monitor', 'bulletin board',
    'shower', 'radiator', 'glass, drinking glass', 'clock', 'flag',
)
_ADE20K_THING_IDS = frozenset((
    7, 8, 10, 12, 14, 15, 18, 19, 20, 22, 23, 24, 27, 30, 31, 32, 33, 35, 36, 37, 38, 39, 41,
    42, 43, 44, 45, 47, 49, 50, 53, 55, 56, 57, 58, 62, 64, 65, 66, 67, 69, 70, 71, 72, 73, 74,
    75, 76, 78, 80, 81, 82, 83, 85, 86, 87, 88, 89, 90, 92, 93, 95, 97, 98, 102, 103, 104, 107,
    108, 110, 111, 112, 115, 116, 118, 119, 120, 121, 123, 124, 125, 126, 127, 129, 130, 132,
    133, 134, 135, 136, 137, 138, 139, 142, 143, 144, 146, 147, 148, 149))
ADE20K_PANOPTIC_CATEGORIES: List[dict] = [
    dict(id=cat_id, name=name, isthing=int(cat_id in _ADE20K_THING_IDS))
    for cat_id, name in enumerate(_ADE20K_NAMES)]

YOUTUBE_VIS_2019_CLASSES = (
    'person', 'giant_panda', 'lizard', 'parrot', 'skateboard', 'sedan', 'ape', 'dog', 'snake',
    'monkey', 'hand', 'rabbit', 'duck', 'cat', 'cow', 'fish', 'train', 'horse', 'turtle',
    'bear', 'motorbike', 'giraffe', 'leopard', 'fox', 'deer', 'owl', 'surfboard', 'airplane',
    'truck', 'zebra', 'tiger', 'elephant', 'snowboard', 'boat', 'shark', 'mouse', 'frog',
    'eagle', 'earless_seal', 'tennis_racket')
YOUTUBE_VIS_2021_CLASSES = (
    'airplane', 'bear', 'bird', 'boat', 'car', 'cat', 'cow', 'deer', 'dog', 'duck',
    'earless_seal', 'elephant', 'fish', 'flying_disc', 'fox', 'frog', 'giant_panda', 'giraffe',
    'horse', 'leopard', 'lizard', 'monkey', 'motorbike', 'mouse', 'parrot', 'person', 'rabbit',
    'shark', 'skateboard', 'snake', 'snowboard', 'squirrel', 'surfboard', 'tennis_racket',
    'tiger', 'train', 'truck', 'turtle', 'whale', 'zebra')


def youtube_vis_categories(version: str) -> List[dict]:
    """The 40 categories of YouTube-VIS ``version`` ('2019' or '2021'), ids 1-40."""
    names = {'2019': YOUTUBE_VIS_2019_CLASSES, '2021': YOUTUBE_VIS_2021_CLASSES}.get(version)
    if names is None:
        raise ValueError(f"YouTube-VIS version must be '2019' or '2021', got {version!r}")
    return [dict(id=index, name=name) for index, name in enumerate(names, start=1)]


# VIPSeg: name of category id i at position i; the 58 thing names.
_VIPSEG_NAMES = (
    'wall', 'ceiling', 'door', 'stair', 'ladder', 'escalator', 'Playground_slide',
    'handrail_or_fence', 'window', 'rail', 'goal', 'pillar', 'pole', 'floor', 'ground', 'grass',
    'sand', 'athletic_field', 'road', 'path', 'crosswalk', 'building', 'house', 'bridge',
    'tower', 'windmill', 'well_or_well_lid', 'other_construction', 'sky', 'mountain', 'stone',
    'wood', 'ice', 'snowfield', 'grandstand', 'sea', 'river', 'lake', 'waterfall', 'water',
    'billboard_or_Bulletin_Board', 'sculpture', 'pipeline', 'flag', 'parasol_or_umbrella',
    'cushion_or_carpet', 'tent', 'roadblock', 'car', 'bus', 'truck', 'bicycle', 'motorcycle',
    'wheeled_machine', 'ship_or_boat', 'raft', 'airplane', 'tyre', 'traffic_light', 'lamp',
    'person', 'cat', 'dog', 'horse', 'cattle', 'other_animal', 'tree', 'flower', 'other_plant',
    'toy', 'ball_net', 'backboard', 'skateboard', 'bat', 'ball',
    'cupboard_or_showcase_or_storage_rack', 'box', 'traveling_case_or_trolley_case', 'basket',
    'bag_or_package', 'trash_can', 'cage', 'plate', 'tub_or_bowl_or_pot', 'bottle_or_cup',
    'barrel', 'fishbowl', 'bed', 'pillow', 'table_or_desk', 'chair_or_seat', 'bench', 'sofa',
    'shelf', 'bathtub', 'gun', 'commode', 'roaster', 'other_machine', 'refrigerator',
    'washing_machine', 'Microwave_oven', 'fan', 'curtain', 'textiles', 'clothes',
    'painting_or_poster', 'mirror', 'flower_pot_or_vase', 'clock', 'book', 'tool', 'blackboard',
    'tissue', 'screen_or_television', 'computer', 'printer', 'Mobile_phone', 'keyboard',
    'other_electronic_product', 'fruit', 'food', 'instrument', 'train',
)
_VIPSEG_THING_IDS = frozenset((
    2, 4, 8, 10, 41, 43, 44, 46, 47, 48, 49, 50, 51, 52, 54, 55, 56, 60, 61, 62, 63, 64, 65, 72,
    74, 76, 77, 78, 79, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 95, 96, 97, 99, 100, 101,
    102, 106, 107, 108, 109, 114, 115, 116, 117, 118, 122, 123))
VIPSEG_CATEGORIES: List[dict] = [
    dict(id=cat_id, name=name, isthing=int(cat_id in _VIPSEG_THING_IDS))
    for cat_id, name in enumerate(_VIPSEG_NAMES)]

OBJECTS365_SAMPLE_CATEGORIES: List[dict] = [
    dict(id=index, name=name) for index, name in enumerate(
        ('Person', 'Sneakers', 'Chair', 'Other Shoes', 'Hat', 'Car', 'Lamp', 'Glasses', 'Bottle',
         'Desk'), start=1)]
