"""Segment colours: the test-time hook and the API visualiser colour a segment alike."""
import numpy as np

from seg.utils.colors import colorize_panoptic, panoptic_color
from seg.utils.constants import INSTANCE_OFFSET


def test_segments_get_their_panoptic_colour_and_void_is_black():
    num_classes = 4
    thing = 1 + 2 * INSTANCE_OFFSET
    panoptic = np.array([[thing, 3], [num_classes, 3]])
    colours = colorize_panoptic(panoptic, num_classes)
    assert colours.dtype == np.uint8 and colours.shape == (2, 2, 3)
    assert tuple(colours[0, 0]) == panoptic_color(thing)
    assert tuple(colours[0, 1]) == tuple(colours[1, 1]) == panoptic_color(3)
    assert tuple(colours[1, 0]) == (0, 0, 0)
