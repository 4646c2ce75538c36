"""Display colours: a deterministic colour per segment, shared by the API's visualiser and the
test-time visualisation hook, so a segment looks the same in both."""
from typing import Tuple

import cv2
import numpy as np

from .constants import INSTANCE_OFFSET

Color = Tuple[int, int, int]
_GOLDEN_RATIO = 0.618033988749895
# Key offset of panoptic values and semantic labels; the visualiser keys instances, prompts and
# VOS objects from 1000, 2000 and 3000 so the families rarely share colours.
PANOPTIC_KEY_OFFSET = 7


def color_for(key: int) -> Color:
    """A saturated RGB colour for an integer key (distinct for nearby keys, repeatable)."""
    hue = (int(key) * _GOLDEN_RATIO + 0.11) % 1.0
    saturation = 170 + (int(key) * 53) % 86
    value = 200 + (int(key) * 29) % 56
    hsv = np.array([[[hue * 179, saturation, value]]], dtype=np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def panoptic_color(value: int) -> Color:
    """RGB colour of a panoptic value (``label + instance * INSTANCE_OFFSET``) or a semantic
    label: stuff keeps its class colour, each thing instance gets its own."""
    return color_for(int(value) + PANOPTIC_KEY_OFFSET)


def colorize_panoptic(panoptic: np.ndarray, num_classes: int) -> np.ndarray:
    """(H, W) panoptic values -> (H, W, 3) uint8 RGB, ``panoptic_color`` per segment, black for
    void (label ``num_classes``)."""
    values, inverse = np.unique(panoptic, return_inverse=True)
    palette = np.array([(0, 0, 0) if value % INSTANCE_OFFSET >= num_classes
                        else panoptic_color(value) for value in values.tolist()],
                       dtype=np.uint8).reshape(-1, 3)
    return palette[inverse.reshape(panoptic.shape)]
