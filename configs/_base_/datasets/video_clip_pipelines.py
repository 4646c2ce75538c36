# Pipelines shared by the video datasets (as the reference's seg/configs/_base_/datasets/
# youtube_vis_2019.py and vipseg.py, with VideoClipSample). Training: 2-frame clips (frames t and
# t+2), loaded, resized (1280x736, ratio 0.8-2.0), cropped to 1280x736 and flipped with the same
# random parameters for both frames. Test: every frame resized to fit (1280, 736), its annotations
# loaded after the resize so that metrics compare at the frame size as stored.
from seg.datasets.transforms import (ClipTransform, LoadImageFromFile, LoadVideoAnnotations,
                                     PackVideoInputs, RandomCrop, RandomFlip, RandomResize,
                                     Resize, VideoClipSample)

image_size = (1280, 736)  # (w, h)

clip_train_pipeline = [
    dict(type=VideoClipSample, num_frames=2, interval=2),
    dict(type=ClipTransform, share_random_params=True, transforms=[
        dict(type=LoadImageFromFile),
        dict(type=LoadVideoAnnotations),
        dict(type=RandomResize, scale=image_size, ratio_range=(0.8, 2.0), keep_ratio=True),
        dict(type=RandomCrop, crop_size=image_size[::-1], crop_type='absolute',
             allow_negative_crop=True),
        dict(type=RandomFlip, prob=0.5)]),
    dict(type=PackVideoInputs),
]
clip_test_pipeline = [
    dict(type=VideoClipSample, num_frames=None),
    dict(type=ClipTransform, transforms=[
        dict(type=LoadImageFromFile),
        dict(type=Resize, scale=image_size, keep_ratio=True),
        dict(type=LoadVideoAnnotations)]),
    dict(type=PackVideoInputs),
]
