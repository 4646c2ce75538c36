"""Peak tensor memory and time of online video inference for several video lengths.

    python tools/video_memory.py CONFIG [--checkpoint CKPT] [--frames 50 200]
                                 [--size 64 96] [--cached] [--device cpu]

Frames (random, generated on demand so the input itself takes no memory) go through the
config's model with its ``video_cfg`` (tubes, MinVIS linking, per-frame post-processing; the
per-frame results are dropped). Without ``--cached`` tube masks are recomputed in the second
pass (memory independent of the video length); with it they are kept (one pass). The peak is
measured by the PyTorch profiler (seg.testing.profiling).
"""
import argparse
import dataclasses
import sys
import time
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config')
    parser.add_argument('--checkpoint', help='weights (default: the model as initialised)')
    parser.add_argument('--frames', type=int, nargs='+', default=[50, 200],
                        help='video lengths to measure')
    parser.add_argument('--size', type=int, nargs=2, default=[64, 96], metavar=('H', 'W'),
                        help='frame size (multiples of 32 are used as they are)')
    parser.add_argument('--cached', action='store_true',
                        help='keep tube masks between the passes (no recomputation)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config

    from seg.checkpoint import load_converted_weights
    from seg.models.video import VideoInference
    from seg.models import build_segmentor
    from seg.structures import SegDataSample
    from seg.testing.profiling import peak_tensor_memory

    cfg = Config.fromfile(args.config)
    model = build_segmentor(cfg.model)
    if args.checkpoint:
        load_converted_weights(model, args.checkpoint)
    model = model.to(args.device).eval()
    video_cfg = dataclasses.replace(model.video_cfg, vos_on=False,
                                    max_cached_frames=10 ** 9 if args.cached else 0)
    height, width = args.size
    padded = tuple(-(-side // 32) * 32 for side in args.size)
    meta = dict(img_shape=(height, width), ori_shape=(height, width), batch_input_shape=padded)

    def frames(start: int, stop: int) -> torch.Tensor:
        clip = [torch.randn((3,) + padded, generator=torch.Generator().manual_seed(t))
                for t in range(start, stop)]
        return torch.stack(clip).to(args.device)

    inference = VideoInference(model.extract_feat, model.panoptic_head, model.postprocessor,
                               video_cfg)
    print(f'tubes: clip_size={video_cfg.clip_size} / {video_cfg.clip_size_small}, masks '
          f'{"kept" if args.cached else "recomputed"}, frames {height}x{width}')
    for num_frames in args.frames:
        samples = [SegDataSample(metainfo=dict(meta, frame_id=t)) for t in range(num_frames)]
        start = time.perf_counter()
        _, peak = peak_tensor_memory(
            lambda: inference.run(frames, samples, lambda t, outputs: None), args.device)
        elapsed = time.perf_counter() - start
        print(f'{num_frames:5d} frames: peak tensor memory {peak / 2 ** 20:8.2f} MiB, '
              f'{elapsed:6.1f} s (profiled)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
