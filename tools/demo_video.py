"""Segment a video with an OMG-Seg model: per-frame overlays and an animation; runs on the CPU.

    python tools/demo_video.py CONFIG CHECKPOINT VIDEO --out-dir DIR
        [--task panoptic|instance|semantic] [--first-frame-masks PNG] [--format gif|mp4]
        [--fps 5] [--max-frames N] [--score-thr S] [--device DEVICE]

VIDEO: a video file (anything OpenCV reads) or a folder of frames (sorted by name). Online
(MinVIS) inference with the config's ``video_cfg``: instance ids and colours are stable over the
video. ``--first-frame-masks``: a DAVIS-style palette / greyscale PNG of the first frame (value
k = object k, 0 background, 255 void) to follow those objects instead (VOS). Writes
DIR/frames/<index>.png and DIR/<video name>_<task>.gif (or .mp4). A video that ends before the
frame count of its header is processed up to where it ends (with a warning); frames of different
sizes in a folder, unreadable files and non-videos give one error line (exit status 2).
"""
import argparse
import sys
from pathlib import Path
from typing import List

import numpy as np

from seg.utils.command_line import run_reporting_input_errors


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='model config (its video_cfg sets the tube lengths)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('video', help='video file or folder of frames')
    parser.add_argument('--out-dir', required=True, help='folder for the overlays')
    parser.add_argument('--task', default='panoptic', choices=['panoptic', 'instance',
                                                               'semantic'])
    parser.add_argument('--first-frame-masks', help='object-id PNG of the first frame (VOS)')
    parser.add_argument('--format', default='gif', choices=['gif', 'mp4'],
                        help='animation format')
    parser.add_argument('--fps', type=float, default=5.0, help='animation frame rate')
    parser.add_argument('--max-frames', type=int, help='only the first N frames')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='instances below this score are not drawn')
    parser.add_argument('--device', default='cpu', help='cpu (default), cuda, cuda:1...')
    args = parser.parse_args(argv)
    if args.fps <= 0 or (args.max_frames is not None and args.max_frames < 1):
        parser.error('--fps and --max-frames must be positive')
    return args


def first_frame_objects(path: str):
    """(N, H, W) masks and ids 1..255 of an object-id PNG (0 background, 255 void)."""
    from seg.datasets.davis import DAVIS_VOID, read_davis_png
    ids = read_davis_png(path)
    objects = [int(v) for v in np.unique(ids) if v not in (0, DAVIS_VOID)]
    if not objects:
        raise ValueError(f'{path} holds no object (only 0 / 255)')
    return np.stack([ids == value for value in objects]), objects


def same_size(frames: List[np.ndarray]) -> List[np.ndarray]:
    """Frames padded (white, bottom / right) to the largest one: legends differ in size."""
    height = max(frame.shape[0] for frame in frames)
    width = max(frame.shape[1] for frame in frames)
    padded = []
    for frame in frames:
        canvas = np.full((height, width, 3), 255, np.uint8)
        canvas[:frame.shape[0], :frame.shape[1]] = frame
        padded.append(canvas)
    return padded


def write_animation(frames: List[np.ndarray], target: Path, fps: float) -> None:
    """RGB frames as an animated GIF (Pillow) or an MP4 (OpenCV), by suffix."""
    frames = same_size(frames)
    if target.suffix == '.gif':
        from PIL import Image
        images = [Image.fromarray(frame) for frame in frames]
        images[0].save(target, save_all=True, append_images=images[1:],
                       duration=int(round(1000 / fps)), loop=0)
        return
    import cv2
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f'OpenCV cannot write {target} (no mp4v encoder); use --format gif')
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
    finally:
        writer.release()


def main(argv=None) -> int:
    args = parse_args(argv)
    from seg.apis import Predictor, draw_result, draw_vos, read_video, save_image
    frames_bgr = read_video(args.video, max_frames=args.max_frames)
    frames = [np.ascontiguousarray(frame[..., ::-1]) for frame in frames_bgr]  # RGB
    masks = ids = None
    if args.first_frame_masks:
        masks, ids = first_frame_objects(args.first_frame_masks)
    predictor = Predictor.from_config(args.config, args.checkpoint, device=args.device)
    result = predictor.predict_video(frames, task=args.task, first_frame_masks=masks,
                                     object_ids=ids)
    out_dir = Path(args.out_dir)
    overlays = []
    for index, (image, frame_result) in enumerate(zip(frames, result.frames)):
        if result.vos is not None:
            overlay = draw_vos(image, result.vos[index])
        else:
            options = dict(score_thr=args.score_thr) if args.task == 'instance' else {}
            overlay = draw_result(image, frame_result, task=args.task, **options)
        save_image(out_dir / 'frames' / f'{index:05d}.png', overlay)
        overlays.append(overlay)
    name = Path(args.video).stem or 'video'
    task = 'vos' if result.vos is not None else args.task
    target = out_dir / f'{name}_{task}.{args.format}'
    write_animation(overlays, target, args.fps)
    print(f'{len(overlays)} frames -> {out_dir / "frames"}, animation {target}')
    return 0


def run(argv=None) -> int:
    """``main`` for the command line: a bad input gives one line on stderr and exit status 2."""
    return run_reporting_input_errors(main, argv)

if __name__ == '__main__':
    sys.exit(run())
