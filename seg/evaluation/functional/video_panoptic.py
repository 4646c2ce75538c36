"""Video panoptic quality (VPQ over k-frame windows) and STQ for VIPSeg-format videos.

VPQ follows VIPSeg's `eval_vpq_vspw.py`: every window of `n` consecutive frames inside a video
is one "image" whose segments are tubes (GT area = sum of the json areas of the window's
frames, category / crowd of the first occurrence); tubes are matched with the COCO PQ rules of
`panoptic_quality.match_segments`; statistics are summed over all windows of all videos, PQ is
averaged per category, and VPQ is the mean over the window sizes (official: 1, 2, 4, 6, 8
frames; the Cityscapes-VPS k = 0 / 5 / 10 / 15 set is 1, 2, 3, 4 frames).

STQ follows VIPSeg's `eval_stq_vspw.py` (deeplab2 numpy STQ): semantic id = json category id,
instance id = order of first appearance of the segment id in the video's json (0-based, so a
thing listed first in a video is treated as crowd, as in the official script), void = 255.

Each frame is read once: its pixels become one (GT segment, predicted segment) count matrix
over the video-level segment lists; windows and STQ are sums of these matrices. Videos are
independent: `nproc` > 1 evaluates them in a process pool, summed in video order (the result
is identical to nproc=1).
"""
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from seg.structures.panoptic_io import read_panoptic_png
from seg.utils.json_files import read_json
from .formats import PathLike, map_in_processes, require_key
from .input_checks import check_vipseg_json
from .panoptic_quality import (PanopticCategories, PQStat, SegmentTable, match_segments,
                               pair_counts, pq_summary, segment_indices)
from .stq import STQuality

VIPSEG_WINDOWS = (1, 2, 4, 6, 8)
CITYSCAPES_VPS_WINDOWS = (1, 2, 3, 4)
STQ_VOID = 255


@dataclass
class _VideoSegments:
    """Segments of one side (GT or prediction) of a video."""
    table: SegmentTable      # video-level, sorted by id
    first_seen: np.ndarray   # (S,) order of first appearance in the video json
    present: np.ndarray      # (T, S) listed in the frame's json
    area: np.ndarray         # (T, S) json area in the frame (GT; summed over duplicates)
    position: np.ndarray     # (T, S) first position in the frame's json


def _video_segments(frames: Sequence[Sequence[dict]], categories: PanopticCategories,
                    where: str, is_gt: bool) -> _VideoSegments:
    attributes: Dict[int, Tuple[int, bool]] = {}
    per_frame = []
    for frame_number, segments in enumerate(frames):
        frame: Dict[int, List[int]] = {}
        for position, segment in enumerate(segments):
            entry = f'{where}, frame {frame_number}'
            segment_id = int(require_key(segment, 'id', entry))
            category = categories.index(require_key(segment, 'category_id', entry),
                                        f'{entry}, segment {segment_id}')
            crowd = bool(require_key(segment, 'iscrowd', entry)) if is_gt else False
            area = int(require_key(segment, 'area', entry)) if is_gt else 0
            if segment_id <= 0:
                raise ValueError(f'{entry}: segment ids must be positive (0 is void)')
            known = attributes.setdefault(segment_id, (category, crowd))
            if known != (category, crowd):
                raise ValueError(f'{entry}: segment {segment_id} changes category or crowd flag '
                                 'within the video')
            if segment_id in frame:  # the official script sums duplicated entries
                frame[segment_id][1] += area
            else:
                frame[segment_id] = [position, area]
        per_frame.append(frame)
    first_seen_ids = list(attributes)
    ids = np.array(sorted(first_seen_ids), np.int64)
    column = {segment_id: i for i, segment_id in enumerate(ids.tolist())}
    first_seen = np.empty(ids.size, np.int64)
    first_seen[[column[s] for s in first_seen_ids]] = np.arange(ids.size)
    num_frames = len(frames)
    present = np.zeros((num_frames, ids.size), bool)
    area = np.zeros((num_frames, ids.size), np.int64)
    position = np.zeros((num_frames, ids.size), np.int64)
    for t, frame in enumerate(per_frame):
        for segment_id, (first_position, frame_area) in frame.items():
            present[t, column[segment_id]] = True
            area[t, column[segment_id]] = frame_area
            position[t, column[segment_id]] = first_position
    table = SegmentTable(ids, np.array([attributes[s][0] for s in ids.tolist()], np.int64),
                         np.array([attributes[s][1] for s in ids.tolist()], bool),
                         np.zeros(ids.size, np.int64), first_seen)
    return _VideoSegments(table, first_seen, present, area, position)


class VideoSegmentCounts:
    """Per-frame (GT segment, predicted segment) pixel counts of one video.

    `gt_segments` / `pred_segments`: the json `segments_info` list of every frame;
    `id_maps`: (GT, prediction) id maps per frame (may be a lazy iterator);
    `where` / `frame_names` name the video and frames in error messages.
    """

    def __init__(self, gt_segments: Sequence[Sequence[dict]],
                 pred_segments: Sequence[Sequence[dict]],
                 id_maps: Iterable[Tuple[np.ndarray, np.ndarray]],
                 categories: PanopticCategories, where: str = 'video',
                 frame_names: Optional[Sequence[str]] = None):
        if len(gt_segments) != len(pred_segments):
            raise ValueError(f'{where}: {len(pred_segments)} predicted frames for '
                             f'{len(gt_segments)} GT frames')
        self.categories = categories
        self.where = where
        self.gt = _video_segments(gt_segments, categories, f'{where} (GT)', is_gt=True)
        self.pred = _video_segments(pred_segments, categories, f'{where} (prediction)',
                                    is_gt=False)
        num_gt, num_pred = self.gt.table.ids.size, self.pred.table.ids.size
        frames = []
        for t, (gt_ids, pred_ids) in enumerate(id_maps):
            frame = f'{where}, frame {t}' + (f' ({frame_names[t]})' if frame_names else '')
            if gt_ids.shape != pred_ids.shape:
                raise ValueError(f'{frame}: prediction shape {pred_ids.shape} differs from the '
                                 f'GT shape {gt_ids.shape}')
            if t >= len(gt_segments):
                raise ValueError(f'{where}: more id maps than the {len(gt_segments)} frames')
            counts = pair_counts(segment_indices(gt_ids, self.gt.table.ids, f'{frame} (GT)'),
                                 segment_indices(pred_ids, self.pred.table.ids,
                                                 f'{frame} (prediction)'), num_gt, num_pred)
            self._check_frame(counts, t, frame)
            frames.append(counts)
        if len(frames) != len(gt_segments):
            raise ValueError(f'{where}: {len(frames)} id maps for {len(gt_segments)} frames')
        self.counts = np.stack(frames) if frames else np.zeros((0, num_gt + 1, num_pred + 1),
                                                               np.int64)

    def _check_frame(self, counts: np.ndarray, t: int, frame: str) -> None:
        gt_in_png = counts[1:].sum(axis=1) > 0
        pred_in_png = counts[:, 1:].sum(axis=0) > 0
        for kind, side, in_png in (('GT', self.gt, gt_in_png), ('prediction', self.pred,
                                                                 pred_in_png)):
            extra = side.table.ids[in_png & ~side.present[t]]
            if extra.size:
                raise KeyError(f'{frame} ({kind}): segment id(s) {extra[:5].tolist()} present in '
                               "the PNG but not listed in this frame's json")
        absent = self.pred.table.ids[self.pred.present[t] & ~pred_in_png]
        if absent.size:
            raise KeyError(f'{frame} (prediction): segment id(s) {absent[:5].tolist()} listed in '
                           'the json but absent from the PNG')

    @property
    def num_frames(self) -> int:
        return self.counts.shape[0]

    def window_stats(self, window: int) -> Tuple[PQStat, int]:
        """PQ statistics summed over every `window`-frame window, and the window count."""
        stat = PQStat.zeros(len(self.categories))
        num_windows = max(self.num_frames - window + 1, 0)
        if num_windows == 0:
            return stat, 0
        zero = np.zeros((1,) + self.counts.shape[1:], np.int64)
        cumulative_counts = np.concatenate([zero, np.cumsum(self.counts, axis=0)])
        cumulative_area = np.concatenate([np.zeros((1, self.gt.area.shape[1]), np.int64),
                                          np.cumsum(self.gt.area, axis=0)])
        has_crowd = bool(self.gt.table.iscrowd.any())
        for start in range(num_windows):
            stop = start + window
            gt_present = self.gt.present[start:stop].any(axis=0)
            gt_rank = None
            if has_crowd:  # json order inside the window: first frame listed, then position
                first = np.argmax(self.gt.present[start:stop], axis=0)
                positions = self.gt.position[start + first, np.arange(first.size)]
                gt_rank = first * (self.gt.position.max() + 1) + positions
            stat += match_segments(
                cumulative_counts[stop] - cumulative_counts[start], self.gt.table,
                self.pred.table.category, len(self.categories),
                gt_area=cumulative_area[stop] - cumulative_area[start], gt_present=gt_present,
                pred_present=self.pred.present[start:stop].any(axis=0), gt_rank=gt_rank)
        return stat, num_windows

    def update_stq(self, stq: STQuality, sequence_id) -> None:
        """Add this video to an STQ accumulator (VIPSeg's label encoding)."""
        category_ids = np.asarray(self.categories.ids, np.int64)
        gt_semantic = np.concatenate([[STQ_VOID], category_ids[self.gt.table.category]])
        gt_instance = np.concatenate([[STQ_VOID], self.gt.first_seen])
        pred_semantic = np.concatenate([[STQ_VOID], category_ids[self.pred.table.category]])
        stq.update_from_counts(sequence_id, self.counts.sum(axis=0),
                               list(range(gt_semantic.size)), gt_semantic, gt_instance,
                               list(range(pred_semantic.size)), pred_semantic,
                               num_frames=self.num_frames)


def vpq_summary(window_stats: Dict[int, PQStat], num_windows: Dict[int, int],
                categories: PanopticCategories) -> dict:
    """`per_nframes` (window -> All / Things / Stuff / per_class) and the mean `VPQ`."""
    per_window = {}
    for window, stat in window_stats.items():
        if num_windows[window] == 0:
            raise ValueError(f'no video has {window} frames: window {window} has no samples')
        per_window[window] = {**pq_summary(stat, categories), 'num_windows': num_windows[window]}
    vpq = {name: float(np.mean([per_window[w][name]['pq'] for w in per_window]))
           for name in ('All', 'Things', 'Stuff')}
    return {'per_nframes': per_window, 'VPQ': vpq}


def stq_for_categories(categories: PanopticCategories, num_classes: Optional[int] = None,
                       ignore_label: int = STQ_VOID) -> STQuality:
    """An STQ accumulator whose thing list comes from the panoptic categories."""
    if num_classes is None:
        num_classes = max(categories.ids) + 1
    things = [c for c, thing in zip(categories.ids, categories.isthing) if thing]
    return STQuality(num_classes, things, ignore_label)


def check_windows(windows: Sequence[int]) -> List[int]:
    values = [int(w) for w in windows]
    if not values or min(values) < 1 or len(set(values)) != len(values):
        raise ValueError(f'windows must be distinct positive frame counts, got {windows}')
    return values


@dataclass(frozen=True)
class VideoFiles:
    """One VIPSeg-format video to evaluate: json frame lists and PNG paths (picklable, so a
    process pool can evaluate videos independently)."""
    video_id: str
    gt_segments: List[List[dict]]
    pred_segments: List[List[dict]]
    frame_names: List[str]
    gt_dir: Path
    pred_dir: Path

    def counts(self, categories: PanopticCategories) -> VideoSegmentCounts:
        """Read the PNGs (one frame at a time) into per-frame pair counts."""
        id_maps = ((read_panoptic_png(self.gt_dir / name),
                    read_panoptic_png(self.pred_dir / name)) for name in self.frame_names)
        return VideoSegmentCounts(self.gt_segments, self.pred_segments, id_maps, categories,
                                  where=f'video {self.video_id}', frame_names=self.frame_names)


def read_vipseg(gt_json: PathLike, gt_dir: PathLike, pred_json: PathLike, pred_dir: PathLike
                ) -> Tuple[PanopticCategories, List[VideoFiles]]:
    """Categories and the GT's videos (in json order) of VIPSeg-format files.

    Layout as the official scripts: PNG `<dir>/<video_id>/<file_name>` with the file names of
    the GT json's `videos[].images`; the json `annotations` give per-video frame lists.
    """
    gt = read_json(gt_json)
    pred = read_json(pred_json)
    categories = PanopticCategories.from_coco(require_key(gt, 'categories', str(gt_json)))
    check_vipseg_json(gt, pred, gt_json, pred_json)
    gt_frames = {a['video_id']: a['annotations'] for a in require_key(gt, 'annotations',
                                                                       str(gt_json))}
    pred_frames = {a['video_id']: a['annotations'] for a in require_key(pred, 'annotations',
                                                                         str(pred_json))}
    videos = []
    for video in require_key(gt, 'videos', str(gt_json)):
        video_id = video['video_id']
        if video_id not in gt_frames:
            raise KeyError(f'{gt_json}: no annotations for video {video_id}')
        if video_id not in pred_frames:
            raise KeyError(f'{pred_json}: no prediction for the GT video {video_id}')
        names = [image['file_name'] for image in video['images']]
        gt_video, pred_video = gt_frames[video_id], pred_frames[video_id]
        if not len(names) == len(gt_video) == len(pred_video):
            raise ValueError(f'video {video_id}: {len(names)} images, {len(gt_video)} GT '
                             f'and {len(pred_video)} predicted frame annotations')
        videos.append(VideoFiles(video_id, [f['segments_info'] for f in gt_video],
                                 [f['segments_info'] for f in pred_video], names,
                                 Path(gt_dir) / video_id, Path(pred_dir) / video_id))
    return categories, videos


def _vpq_of_video(video: VideoFiles, categories: PanopticCategories,
                  windows: Sequence[int]) -> List[Tuple[PQStat, int]]:
    counts = video.counts(categories)
    return [counts.window_stats(window) for window in windows]


def _stq_of_video(video: VideoFiles, categories: PanopticCategories,
                  num_classes: Optional[int]) -> STQuality:
    stq = stq_for_categories(categories, num_classes)
    video.counts(categories).update_stq(stq, video.video_id)
    return stq


def evaluate_vipseg_vpq(gt_json: PathLike, gt_dir: PathLike, pred_json: PathLike,
                        pred_dir: PathLike, windows: Sequence[int] = VIPSEG_WINDOWS,
                        progress: bool = False, nproc: int = 1) -> dict:
    """VPQ of VIPSeg-format predictions over windows of the given frame counts.

    `nproc` > 1 evaluates videos in that many processes (same result as nproc=1).
    """
    windows = check_windows(windows)
    categories, videos = read_vipseg(gt_json, gt_dir, pred_json, pred_dir)
    stats = {w: PQStat.zeros(len(categories)) for w in windows}
    num_windows = dict.fromkeys(windows, 0)
    worker = partial(_vpq_of_video, categories=categories, windows=windows)
    for per_window in map_in_processes(worker, videos, nproc, progress, 'videos'):
        for window, (stat, count) in zip(windows, per_window):
            stats[window] += stat
            num_windows[window] += count
    return vpq_summary(stats, num_windows, categories)


def evaluate_vipseg_stq(gt_json: PathLike, gt_dir: PathLike, pred_json: PathLike,
                        pred_dir: PathLike, num_classes: Optional[int] = None,
                        progress: bool = False, nproc: int = 1) -> dict:
    """STQ, AQ and IoU of VIPSeg-format predictions (one sequence per video).

    `nproc` > 1 evaluates videos in that many processes (same result as nproc=1).
    """
    categories, videos = read_vipseg(gt_json, gt_dir, pred_json, pred_dir)
    stq = stq_for_categories(categories, num_classes)
    worker = partial(_stq_of_video, categories=categories, num_classes=num_classes)
    for video_stq in map_in_processes(worker, videos, nproc, progress, 'videos'):
        stq.merge(video_stq)
    return stq.result()
