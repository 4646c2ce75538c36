from .seg_data_sample import SampleList, SegDataSample

__all__ = ['SegDataSample', 'SampleList']
