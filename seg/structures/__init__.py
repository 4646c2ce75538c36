from .masks import mask_to_box, mask_to_rle, masks_to_rles
from .panoptic_io import id_to_rgb, read_panoptic_png, rgb_to_id, write_panoptic_png
from .seg_data_sample import SampleList, SegDataSample
from .track_data_sample import TrackSegDataSample, is_clip_batch

__all__ = ['SegDataSample', 'SampleList', 'TrackSegDataSample', 'is_clip_batch', 'mask_to_box',
           'mask_to_rle', 'masks_to_rles', 'rgb_to_id', 'id_to_rgb', 'read_panoptic_png',
           'write_panoptic_png']
