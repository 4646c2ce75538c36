"""Validate every sample of a dataset before a long run (used by ``tools/check_dataset.py``).

COCO-panoptic datasets get file-level checks (each image and PNG decodes, sizes agree with
each other and with the json, every PNG id is listed in ``segments_info`` and every listed
segment has pixels, the json ``area`` matches); any other dataset is checked by running its
pipeline on every sample. Json-level problems (unknown category ids, duplicated ids...) already
fail when the dataset is built.
"""
import multiprocessing
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Tuple

import numpy as np
from mmengine.utils import ProgressBar

from seg.structures.panoptic_io import read_panoptic_png
from seg.utils.image_files import read_image_file
from .coco_panoptic import CocoPanopticDataset

ERROR, WARNING = 'error', 'warning'


@dataclass
class SampleProblem:
    """One finding: ``severity`` (error / warning), ``kind`` (short category), the sample's
    ``index`` and ``path``, and a ``message`` naming the file and values."""
    severity: str
    kind: str
    index: int
    path: Optional[str]
    message: str


@dataclass
class DatasetCheckReport:
    name: str
    num_samples: int = 0
    problems: List[SampleProblem] = field(default_factory=list)

    @property
    def errors(self) -> List[SampleProblem]:
        return [problem for problem in self.problems if problem.severity == ERROR]

    @property
    def warnings(self) -> List[SampleProblem]:
        return [problem for problem in self.problems if problem.severity == WARNING]

    def summary(self, max_shown: int = 20) -> str:
        bad_samples = len({problem.index for problem in self.errors})
        lines = [f'{self.name}: {self.num_samples} samples checked, {bad_samples} with errors, '
                 f'{len(self.errors)} error(s), {len(self.warnings)} warning(s)']
        for (severity, kind), count in sorted(Counter(
                (problem.severity, problem.kind) for problem in self.problems).items()):
            lines.append(f'  {severity}: {kind}: {count}')
        for problem in self.problems[:max_shown]:
            lines.append(f'  [{problem.severity}] sample {problem.index}: {problem.message}')
        if len(self.problems) > max_shown:
            lines.append(f'  ... {len(self.problems) - max_shown} more (use --out to save all)')
        return '\n'.join(lines)


def check_panoptic_sample(info: dict, index: int = 0) -> List[SampleProblem]:
    """File-level checks of one ``CocoPanopticDataset`` data info."""
    problems: List[SampleProblem] = []
    img_path, png_path = info['img_path'], info['seg_map_path']

    def add(severity: str, kind: str, message: str) -> None:
        problems.append(SampleProblem(severity, kind, index, img_path, message))

    json_shape = (info['height'], info['width'])
    image_shape = None
    try:
        image_shape = read_image_file(img_path).shape[:2]
    except (OSError, ValueError) as error:
        add(ERROR, 'unreadable image', str(error))
    if image_shape is not None and tuple(image_shape) != json_shape:
        add(ERROR, 'image size differs from the json',
            f'image {img_path} has size {tuple(image_shape)}, the json says (height, width) = '
            f'{json_shape}')
    try:
        ids = read_panoptic_png(png_path)
    except (OSError, ValueError) as error:
        add(ERROR, 'unreadable panoptic PNG', str(error))
        return problems
    expected_shape = tuple(image_shape) if image_shape is not None else json_shape
    if ids.shape != expected_shape:
        add(ERROR, 'PNG size differs from the image',
            f'panoptic PNG {png_path} has size {ids.shape}, the image {expected_shape}')
    present_ids, counts = np.unique(ids, return_counts=True)
    pixel_count = dict(zip(present_ids.tolist(), counts.tolist()))
    segments = info['segments_info']
    listed = {segment['id'] for segment in segments} | set(info.get('ignored_segment_ids', ()))
    unlisted = sorted(set(pixel_count) - listed - {0})
    if unlisted:
        add(ERROR, 'PNG id missing from segments_info',
            f'panoptic PNG {png_path} contains segment id(s) {unlisted[:10]} absent from its '
            'segments_info in the json')
    for segment in segments:
        area = pixel_count.get(segment['id'], 0)
        if area == 0:
            add(ERROR, 'json segment absent from the PNG',
                f'segment id {segment["id"]} (category_id {segment["category_id"]}) of the json '
                f'has no pixel in {png_path}')
        elif 'area' in segment and int(segment['area']) != area:
            add(WARNING, 'json area differs from the PNG',
                f'segment id {segment["id"]} has area {segment["area"]} in the json but {area} '
                f'pixels in {png_path}')
    return problems


def check_with_pipeline(dataset, index: int) -> List[SampleProblem]:
    """Generic check: the dataset's own pipeline must process sample ``index``."""
    try:
        info = dataset.get_data_info(index)
    except Exception as error:
        return [SampleProblem(ERROR, 'broken data info', index, None,
                              f'{type(error).__name__}: {error}')]
    path = info.get('img_path') if isinstance(info, dict) else None
    try:
        result = dataset.pipeline(info)
    except Exception as error:
        return [SampleProblem(ERROR, 'pipeline error', index, path,
                              f'{type(error).__name__}: {error}')]
    if result is None and getattr(dataset, 'test_mode', False):
        return [SampleProblem(ERROR, 'pipeline rejected the sample', index, path,
                              'the pipeline returned None for a test sample')]
    return []


_WORKER_DATASET = None  # the dataset checked by pool workers (inherited through fork)


def _check_index(index: int) -> Tuple[int, List[SampleProblem]]:
    dataset = _WORKER_DATASET
    # CocoInstanceDataset shares CocoPanopticDataset's json handling but has no PNGs ('seg').
    if isinstance(dataset, CocoPanopticDataset) and 'seg' in dataset.required_prefix_keys:
        return index, check_panoptic_sample(dataset.get_data_info(index), index)
    return index, check_with_pipeline(dataset, index)


def check_dataset(dataset, name: Optional[str] = None, jobs: int = 1,
                  progress: bool = True) -> DatasetCheckReport:
    """Check every sample of ``dataset`` (``jobs`` worker processes); problems in index order."""
    global _WORKER_DATASET
    report = DatasetCheckReport(name or type(dataset).__name__, num_samples=len(dataset))
    _WORKER_DATASET = dataset
    bar = ProgressBar(len(dataset), file=sys.stdout) if progress and len(dataset) else None
    try:
        for _, problems in _run(_check_index, range(len(dataset)), jobs, bar):
            report.problems.extend(problems)
    finally:
        _WORKER_DATASET = None
        if bar is not None:
            bar.file.write('\n')
    report.problems.sort(key=lambda problem: problem.index)
    return report


def _run(function: Callable, indices: Iterable[int], jobs: int, bar: Optional[ProgressBar]):
    if jobs <= 1:
        for index in indices:
            yield function(index)
            if bar is not None:
                bar.update()
        return
    context = multiprocessing.get_context('fork')
    with context.Pool(jobs) as pool:
        for result in pool.imap_unordered(function, indices, chunksize=16):
            yield result
            if bar is not None:
                bar.update()


def leaf_datasets(dataset) -> List:
    """The datasets inside wrappers (``dataset`` / ``datasets`` attributes), depth first."""
    if hasattr(dataset, 'datasets'):
        return [leaf for inner in dataset.datasets for leaf in leaf_datasets(inner)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]
