"""The panoptic PNG codec: ids round-trip through files, bad files and ids are named."""
import numpy as np
import pytest
from PIL import Image

from seg.structures.panoptic_io import id_to_rgb, read_panoptic_png, rgb_to_id, write_panoptic_png


def test_ids_round_trip_through_a_png_in_a_new_folder(tmp_path):
    ids = np.random.default_rng(0).integers(0, 256 ** 3, (5, 7))
    path = tmp_path / 'new' / 'folder' / 'ids.png'
    write_panoptic_png(path, ids)
    read = read_panoptic_png(path)
    assert read.dtype == np.int64 and np.array_equal(read, ids)
    assert np.array_equal(rgb_to_id(id_to_rgb(ids)), ids)


def test_rgba_pngs_ignore_alpha_and_grey_pngs_are_refused(tmp_path):
    ids = np.arange(12).reshape(3, 4) * 4099
    rgba = np.concatenate([id_to_rgb(ids), np.full((3, 4, 1), 255, np.uint8)], axis=-1)
    Image.fromarray(rgba).save(tmp_path / 'rgba.png')
    assert np.array_equal(read_panoptic_png(tmp_path / 'rgba.png'), ids)
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(tmp_path / 'grey.png')
    with pytest.raises(ValueError, match='grey.png: expected an 8-bit RGB panoptic PNG'):
        read_panoptic_png(tmp_path / 'grey.png')
    with pytest.raises(FileNotFoundError, match='missing.png'):
        read_panoptic_png(tmp_path / 'missing.png')


def test_ids_outside_the_rgb_range_are_refused():
    with pytest.raises(ValueError, match=r'must lie in \[0, 16777216\)'):
        id_to_rgb(np.array([[256 ** 3]]))
