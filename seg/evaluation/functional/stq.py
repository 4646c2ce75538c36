"""Segmentation and Tracking Quality (STQ = sqrt(AQ * IoU)), as deeplab2's numpy `STQuality`.

* AQ: for every GT thing tube (non-crowd), sum over overlapping predicted thing tubes of
  TPA * IoU(tubes), divided by the tube size; summed over tubes and divided by the tube count.
  GT crowd = a thing pixel with instance id 0; predictions on crowd are ignored.
* IoU: class IoU over the whole dataset; GT ignore pixels are dropped (rows removed) but a
  *predicted* ignore label on labelled GT stays a column of its own, so predicted void counts
  as an extra class with IoU 0 (as the official code does).
Counting works on a (GT key, predicted key) pixel-count matrix, one `bincount` per frame;
tube sizes and tube intersections are summed per integer key with numpy (`np.unique`).
"""
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Hashable, List, Sequence, Tuple

import numpy as np

_EPSILON = 1e-15


def _keyed_sum(keys: np.ndarray, counts: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Distinct keys (rows for 2-D keys) with a non-zero count, and their summed counts."""
    keep = counts != 0
    keys, counts = keys[keep], counts[keep]
    if keys.ndim == 1:
        unique, inverse = np.unique(keys, return_inverse=True)
    else:
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    sums = np.zeros(len(unique), np.int64)
    np.add.at(sums, inverse.reshape(-1), counts)
    return unique, sums


def _integer_keys(keys: Sequence, where: str) -> np.ndarray:
    keys = np.asarray(keys)
    if keys.ndim != 1 or not (keys.size == 0 or np.issubdtype(keys.dtype, np.integer)):
        raise ValueError(f'{where}: segment keys must be a 1-D sequence of integers, got '
                         f'dtype {keys.dtype} and shape {keys.shape}')
    return keys.astype(np.int64)


@dataclass
class _SequenceStats:
    """One sequence's class confusion and thing-tube counts, kept as array chunks (one per
    update) that `reduced()` sums per key with numpy (no per-segment Python loops)."""
    confusion: np.ndarray
    gt_chunks: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    pred_chunks: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    pair_chunks: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    length: int = 0

    def add(self, other: '_SequenceStats') -> None:
        self.confusion += other.confusion
        self.length += other.length
        self.gt_chunks += other.gt_chunks
        self.pred_chunks += other.pred_chunks
        self.pair_chunks += other.pair_chunks

    def aq_sum_and_tubes(self) -> Tuple[float, int]:
        """Sum over GT tubes of the association quality numerator, and the tube count."""
        def reduced(chunks, key_shape):
            if not chunks:
                return np.zeros(key_shape, np.int64), np.zeros(0, np.int64)
            return _keyed_sum(np.concatenate([k for k, _ in chunks]),
                              np.concatenate([c for _, c in chunks]))

        gt_keys, gt_sizes = reduced(self.gt_chunks, (0,))
        pred_keys, pred_sizes = reduced(self.pred_chunks, (0,))
        pairs, tpa = reduced(self.pair_chunks, (0, 2))
        if not tpa.size:
            return 0.0, int(gt_keys.size)
        gt_size = gt_sizes[np.searchsorted(gt_keys, pairs[:, 0])].astype(np.float64)
        pred_size = pred_sizes[np.searchsorted(pred_keys, pairs[:, 1])].astype(np.float64)
        tpa = tpa.astype(np.float64)
        return float(np.sum(tpa * (tpa / (gt_size + pred_size - tpa)) / gt_size)), \
            int(gt_keys.size)


class STQuality:
    """Accumulates STQ statistics per sequence; `result()` gives STQ, AQ, IoU (fractions).

    Args:
        num_classes: number of semantic classes (ids 0 .. num_classes - 1).
        things: semantic ids of the thing classes.
        ignore_label: semantic id of void.
        label_bit_shift: `update` reads maps encoded as (semantic << shift) + instance.
    """

    def __init__(self, num_classes: int, things: Sequence[int], ignore_label: int = 255,
                 label_bit_shift: int = 16):
        self.num_classes = int(num_classes)
        self.things = np.asarray(sorted(int(t) for t in things), np.int64)
        self.ignore_label = int(ignore_label)
        self.label_bit_shift = int(label_bit_shift)
        if self.ignore_label >= self.num_classes:
            self.matrix_size = self.num_classes + 1
            self.include = np.arange(self.num_classes)
        else:
            self.matrix_size = self.num_classes
            self.include = np.array([i for i in range(self.num_classes) if i != ignore_label])
        self.sequences: 'OrderedDict[Hashable, _SequenceStats]' = OrderedDict()

    def _semantic_index(self, semantic: np.ndarray, where: str) -> np.ndarray:
        semantic = np.asarray(semantic, np.int64)
        if self.ignore_label > self.num_classes:
            semantic = np.where(semantic == self.ignore_label, self.num_classes, semantic)
        invalid = (semantic < 0) | (semantic >= self.matrix_size)
        if invalid.any():
            raise ValueError(f'{where}: semantic label {semantic[invalid][0]} is outside '
                             f'[0, {self.num_classes}) and is not the ignore label '
                             f'{self.ignore_label}')
        return semantic

    def update(self, y_true: np.ndarray, y_pred: np.ndarray, sequence_id: Hashable = 0) -> None:
        """Add one frame given as (semantic << label_bit_shift) + instance label maps."""
        y_true = np.asarray(y_true, np.int64).reshape(-1)
        y_pred = np.asarray(y_pred, np.int64).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise ValueError(f'sequence {sequence_id}: prediction and GT sizes differ')
        gt_keys, gt_index = np.unique(y_true, return_inverse=True)
        pred_keys, pred_index = np.unique(y_pred, return_inverse=True)
        counts = np.bincount(gt_index * pred_keys.size + pred_index,
                             minlength=gt_keys.size * pred_keys.size)
        mask = (1 << self.label_bit_shift) - 1
        self.update_from_counts(sequence_id, counts.reshape(gt_keys.size, pred_keys.size),
                                gt_keys, gt_keys >> self.label_bit_shift, gt_keys & mask,
                                pred_keys, pred_keys >> self.label_bit_shift)

    def update_from_counts(self, sequence_id: Hashable, counts: np.ndarray,
                           gt_keys: Sequence, gt_semantic: np.ndarray, gt_instance: np.ndarray,
                           pred_keys: Sequence, pred_semantic: np.ndarray,
                           num_frames: int = 1) -> None:
        """Add pixel counts between GT segments (rows) and predicted segments (columns).

        Each row / column is one segment: its integer key (unique within the sequence),
        semantic id and, for GT, instance id (0 on a thing = crowd).
        """
        where = f'sequence {sequence_id}'
        gt_class = self._semantic_index(gt_semantic, f'{where} (GT)')
        pred_class = self._semantic_index(pred_semantic, f'{where} (prediction)')
        stats = self.sequences.get(sequence_id)
        if stats is None:
            stats = _SequenceStats(np.zeros((self.matrix_size,) * 2, np.int64))
            self.sequences[sequence_id] = stats
        stats.length += num_frames
        cell = gt_class[:, None] * self.matrix_size + pred_class[None, :]
        stats.confusion += np.bincount(cell.reshape(-1), weights=counts.reshape(-1),
                                       minlength=self.matrix_size ** 2).astype(np.int64).reshape(
                                           self.matrix_size, self.matrix_size)

        gt_thing = np.isin(gt_class, self.things)
        crowd = gt_thing & (np.asarray(gt_instance) == 0)
        gt_rows = np.nonzero(gt_thing & ~crowd)[0]
        pred_cols = np.nonzero(np.isin(pred_class, self.things))[0]
        gt_keys = _integer_keys(gt_keys, f'{where} (GT)')
        pred_keys = _integer_keys(pred_keys, f'{where} (prediction)')
        counts = np.asarray(counts, np.int64)
        stats.gt_chunks.append((gt_keys[gt_rows], counts[gt_rows].sum(axis=1)))
        stats.pred_chunks.append((pred_keys[pred_cols], counts[~crowd][:, pred_cols].sum(axis=0)))
        overlap = counts[np.ix_(gt_rows, pred_cols)]
        rows, cols = np.nonzero(overlap)
        stats.pair_chunks.append((np.stack([gt_keys[gt_rows[rows]], pred_keys[pred_cols[cols]]],
                                           axis=1), overlap[rows, cols]))

    def merge(self, other: 'STQuality') -> None:
        """Add another accumulator's sequences (e.g. gathered from other ranks)."""
        for sequence_id, theirs in other.sequences.items():
            if sequence_id not in self.sequences:
                self.sequences[sequence_id] = _SequenceStats(np.zeros_like(theirs.confusion))
            self.sequences[sequence_id].add(theirs)

    def _class_iou(self, confusion: np.ndarray) -> float:
        removal = np.zeros_like(confusion)
        removal[self.include, :] = 1
        confusion = confusion * removal
        intersections = confusion.diagonal()
        unions = confusion.sum(axis=0) + confusion.sum(axis=1) - intersections
        num_classes = np.count_nonzero(unions)
        ious = intersections.astype(np.float64) / np.maximum(unions, _EPSILON)
        return float(np.sum(ious) / num_classes) if num_classes else float('nan')

    def result(self) -> dict:
        """STQ, AQ, IoU over all sequences plus per-sequence lists (deeplab2's keys)."""
        aq_sums, tube_counts, iou_per_seq = [], [], []
        total_confusion = np.zeros((self.matrix_size,) * 2, np.int64)
        for stats in self.sequences.values():
            aq_sum, tubes = stats.aq_sum_and_tubes()
            aq_sums.append(aq_sum)
            tube_counts.append(tubes)
            iou_per_seq.append(self._class_iou(stats.confusion))
            total_confusion += stats.confusion
        aq_sums, tube_counts = np.array(aq_sums), np.array(tube_counts, np.float64)
        aq = float(aq_sums.sum() / max(tube_counts.sum(), _EPSILON))
        iou = self._class_iou(total_confusion)
        aq_per_seq = aq_sums / np.maximum(tube_counts, _EPSILON)
        return {'STQ': float(np.sqrt(aq * iou)), 'AQ': aq, 'IoU': iou,
                'STQ_per_seq': np.sqrt(aq_per_seq * np.array(iou_per_seq)).tolist(),
                'AQ_per_seq': aq_per_seq.tolist(), 'IoU_per_seq': iou_per_seq,
                'ID_per_seq': list(self.sequences),
                'Length_per_seq': [s.length for s in self.sequences.values()]}
