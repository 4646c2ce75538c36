from .seg_data_sample import SampleList, SegDataSample
from .track_data_sample import TrackSegDataSample, is_clip_batch

__all__ = ['SegDataSample', 'SampleList', 'TrackSegDataSample', 'is_clip_batch']
