"""Prediction results of the Python API as plain numpy, convertible to COCO formats.

* :class:`Instances`: masks, labels, class names, scores, boxes (and track ids in videos);
  ``to_coco_rle`` gives COCO result dicts (RLE masks, xywh boxes).
* :class:`ImageResult`: an image's panoptic map, instances and semantic map as asked for;
  ``segments()`` lists the panoptic segments, ``to_panoptic_png`` writes (or returns) the COCO
  panoptic PNG with its ``segments_info``, ``to_numpy`` gives a dict of arrays.
* :class:`VideoResult`: one ``ImageResult`` per frame (ids stable over the video), the VOS maps
  and the video-level tracks.

Panoptic maps use the model's encoding: ``label + instance_id * INSTANCE_OFFSET`` for things
(instance ids from 1), ``label`` for stuff, ``num_classes`` for pixels no segment claims.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from seg.structures.masks import mask_to_box, mask_to_rle
from seg.structures.panoptic_io import id_to_rgb, write_panoptic_png
from seg.utils.constants import INSTANCE_OFFSET
from seg.vocab.synonyms import split_synonyms


def display_name(class_name: str) -> str:
    """The first synonym of a class entry ('person,child' -> 'person')."""
    return split_synonyms(class_name)[0]


def _xyxy_to_xywh(box: Sequence[float]) -> List[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]


def _category(label: int, category_ids: Optional[Sequence[int]]) -> int:
    if category_ids is None:
        return int(label)
    if not 0 <= label < len(category_ids):
        raise ValueError(f'label {label} has no entry in category_ids ({len(category_ids)} ids)')
    return int(category_ids[label])


@dataclass
class Instances:
    """Instance masks of one image (or frame).

    Attributes:
        masks: (n, H, W) bool at the original image size.
        labels: (n,) int64 class indices into ``class_names``.
        scores: (n,) float32.
        boxes: (n, 4) float32 x1, y1, x2, y2 (x2 / y2 one past the last pixel).
        class_names: the vocabulary the labels index.
        ids: (n,) int64 track ids (videos) or None.
    """
    masks: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    class_names: Tuple[str, ...]
    ids: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def names(self) -> List[str]:
        """Display name (first synonym) of every instance's class."""
        return [display_name(self.class_names[int(label)]) for label in self.labels]

    def to_coco_rle(self, image_id: int = 0,
                    category_ids: Optional[Sequence[int]] = None) -> List[dict]:
        """COCO instance results: ``image_id``, ``category_id`` (the label, or
        ``category_ids[label]``), ``segmentation`` (RLE), ``score``, ``bbox`` (x, y, w, h)."""
        return [dict(image_id=image_id, category_id=_category(int(label), category_ids),
                     segmentation=mask_to_rle(mask), score=float(score),
                     bbox=_xyxy_to_xywh(box))
                for mask, label, score, box in zip(self.masks, self.labels, self.scores,
                                                    self.boxes)]

    def to_numpy(self) -> Dict[str, np.ndarray]:
        arrays = dict(masks=self.masks, labels=self.labels, scores=self.scores,
                      boxes=self.boxes)
        if self.ids is not None:
            arrays['ids'] = self.ids
        return arrays


@dataclass
class ImageResult:
    """Results of one image; fields not asked for are None.

    Attributes:
        class_names: the vocabulary (things first, then stuff).
        num_things: number of thing classes.
        image_size: (H, W) of the original image.
        panoptic: (H, W) int32 panoptic map (see the module doc).
        instances: thing instances with scores.
        semantic: (H, W) int64 class per pixel.
        prompts: one mask per location prompt when ``Predictor.predict`` was given prompts
            (decoded in the same pass).
    """
    class_names: Tuple[str, ...]
    num_things: int
    image_size: Tuple[int, int]
    panoptic: Optional[np.ndarray] = None
    instances: Optional[Instances] = None
    semantic: Optional[np.ndarray] = None
    prompts: Optional['PromptResult'] = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def segments(self) -> List[dict]:
        """Panoptic segments: ``id`` (value in the map), ``label``, ``class_name``,
        ``is_thing``, ``instance_id`` (0 for stuff) and ``area`` (pixels), by descending area."""
        if self.panoptic is None:
            raise ValueError('this result has no panoptic map (predict with task="panoptic")')
        values, areas = np.unique(self.panoptic, return_counts=True)
        segments = []
        for value, area in zip(values.tolist(), areas.tolist()):
            label = value % INSTANCE_OFFSET
            if label >= self.num_classes:
                continue  # unassigned pixels
            segments.append(dict(id=value, label=label, class_name=self.class_names[label],
                                 is_thing=label < self.num_things,
                                 instance_id=value // INSTANCE_OFFSET, area=area))
        return sorted(segments, key=lambda segment: -segment['area'])

    def to_panoptic_png(self, path: Optional[Union[str, Path]] = None,
                        category_ids: Optional[Sequence[int]] = None
                        ) -> Tuple[np.ndarray, List[dict]]:
        """COCO panoptic format: an (H, W, 3) RGB PNG whose colour encodes segment ids 1..n
        (0 = unassigned) and the ``segments_info`` list (``id``, ``category_id``, ``iscrowd``,
        ``isthing``, ``area``, ``bbox``). Written to ``path`` when given."""
        segments = self.segments()
        ids = np.zeros(self.panoptic.shape, dtype=np.int64)
        info = []
        for new_id, segment in enumerate(segments, start=1):
            mask = self.panoptic == segment['id']
            ids[mask] = new_id
            bbox = [int(v) for v in mask_to_box(mask, 'xywh')]
            info.append(dict(id=new_id, category_id=_category(segment['label'], category_ids),
                             iscrowd=0, isthing=int(segment['is_thing']),
                             area=int(segment['area']), bbox=bbox))
        if path is not None:
            write_panoptic_png(path, ids)
        return id_to_rgb(ids), info

    def to_coco_rle(self, image_id: int = 0,
                    category_ids: Optional[Sequence[int]] = None) -> List[dict]:
        """COCO instance results of :attr:`instances` (see :meth:`Instances.to_coco_rle`)."""
        if self.instances is None:
            raise ValueError('this result has no instances (predict with task="instance")')
        return self.instances.to_coco_rle(image_id, category_ids)

    def to_numpy(self) -> Dict[str, np.ndarray]:
        """Every field present as numpy arrays (instances flattened as ``instance_*``)."""
        arrays = {}
        if self.panoptic is not None:
            arrays['panoptic'] = self.panoptic
        if self.semantic is not None:
            arrays['semantic'] = self.semantic
        if self.instances is not None:
            arrays.update({f'instance_{key}': value
                           for key, value in self.instances.to_numpy().items()})
        return arrays


@dataclass
class PromptResult:
    """One mask per prompt (points first, then boxes, in the order given).

    Attributes:
        masks: (N, H, W) bool at the original image size.
        labels / scores: best class of the vocabulary and its probability, per prompt.
        class_names: the vocabulary.
        points: (P, 2) x, y of the point prompts; boxes: (M, 4) x1, y1, x2, y2.
    """
    masks: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    class_names: Tuple[str, ...]
    points: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    @property
    def names(self) -> List[str]:
        return [display_name(self.class_names[int(label)]) for label in self.labels]

    def as_instances(self) -> Instances:
        boxes = mask_to_box(self.masks)
        return Instances(self.masks, self.labels, self.scores, boxes, self.class_names)

    def to_coco_rle(self, image_id: int = 0,
                    category_ids: Optional[Sequence[int]] = None) -> List[dict]:
        return self.as_instances().to_coco_rle(image_id, category_ids)

    def to_numpy(self) -> Dict[str, np.ndarray]:
        return dict(masks=self.masks, labels=self.labels, scores=self.scores,
                    points=self.points, boxes=self.boxes)


@dataclass
class VideoResult:
    """Per-frame results of a video.

    Attributes:
        frames: one :class:`ImageResult` per frame; panoptic instance ids and
            ``instances.ids`` are the same object over the whole video.
        vos: (H, W) int32 object-id maps per frame (0 = background) when first-frame masks
            were given, else None.
        track_labels / track_scores / track_ids: video-level tracks (instance task).
    """
    frames: List[ImageResult]
    vos: Optional[List[np.ndarray]] = None
    track_labels: Optional[np.ndarray] = None
    track_scores: Optional[np.ndarray] = None
    track_ids: Optional[np.ndarray] = None
    class_names: Tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.frames)
