"""Overlays: masks coloured, a legend naming the classes, stable colours for tracked ids."""
import cv2
import numpy as np
import pytest

from seg.apis import (ImageResult, Instances, PromptResult, color_for, draw_result, draw_vos,
                       save_image)

CLASSES = ('person,man', 'car', 'grass')


def make_result():
    panoptic = np.full((40, 50), 3, dtype=np.int32)  # 3 = unassigned
    panoptic[:, :20] = 2  # grass (stuff)
    panoptic[5:15, 25:45] = 0 + 1000  # person #1
    panoptic[20:35, 25:45] = 1 + 2000  # car #2
    masks = np.stack([panoptic == 1000, panoptic == 2001])
    instances = Instances(masks=masks, labels=np.array([0, 1]), scores=np.array([0.9, 0.6]),
                          boxes=np.array([[25, 5, 45, 15], [25, 20, 45, 35]], np.float32),
                          class_names=CLASSES, ids=np.array([4, 9]))
    return ImageResult(class_names=CLASSES, num_things=2, image_size=(40, 50),
                       panoptic=panoptic, instances=instances)


def test_panoptic_overlay_colours_segments_and_adds_a_legend():
    image = np.full((40, 50, 3), 128, dtype=np.uint8)
    result = make_result()
    overlay = draw_result(image, result)
    assert overlay.shape[0] >= 40 and overlay.shape[1] > 50  # legend panel on the right
    drawn = overlay[:40, :50]
    assert not np.array_equal(drawn[10, 35], image[10, 35])  # person coloured
    assert np.array_equal(drawn[38, 48], image[38, 48])  # unassigned pixel untouched
    assert not np.array_equal(drawn[10, 35], drawn[25, 35])  # person and car differ
    assert overlay[:, 50:].mean() > 200  # white legend panel with text


def test_instance_colours_follow_track_ids():
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    result = make_result()
    first = draw_result(image, result, task='instance', legend=False)
    swapped = make_result()
    swapped.instances.ids = np.array([9, 4])
    second = draw_result(image, swapped, task='instance', legend=False)
    assert not np.array_equal(first[10, 35], second[10, 35])
    assert color_for(5) == color_for(5) and color_for(5) != color_for(6)
    with pytest.raises(ValueError, match='no .semantic. output'):
        draw_result(image, result, task='semantic')


def test_prompt_overlay_and_saving(tmp_path):
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    masks = np.zeros((2, 40, 50), dtype=bool)
    masks[0, :10] = masks[1, 20:] = True
    result = PromptResult(masks=masks, labels=np.array([0, 1]), scores=np.array([0.5, 0.7]),
                          class_names=CLASSES, points=np.array([[5.0, 5.0]]),
                          boxes=np.array([[0.0, 20.0, 50.0, 40.0]]))
    path = save_image(tmp_path / 'sub' / 'prompts.png', draw_result(image, result))
    written = cv2.imread(str(path))
    assert written is not None and written.shape[0] >= 40 and written.shape[1] > 50
    with pytest.raises(ValueError, match='differs from the result size'):
        draw_result(np.zeros((10, 10, 3), np.uint8), result)


def test_vos_overlay_names_the_objects():
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    vos = np.zeros((40, 50), dtype=np.int32)
    vos[:10] = 3
    vos[30:] = 8
    overlay = draw_vos(image, vos)
    assert overlay.shape[1] > 50
    assert not np.array_equal(overlay[5, 5], overlay[35, 5])
    assert np.array_equal(overlay[20, 5], image[20, 5])
