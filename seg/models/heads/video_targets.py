"""Ground truth of one clip as tubes: one (T, H, W) mask per object or stuff class.

As the reference's ``preprocess_video_panoptic_gt`` (``seg/models/utils/video_gt_preprocess.py``):
thing instances of all frames are grouped by instance id (a frame where the object is absent
gives an empty slice), their label must not change over the clip; stuff tubes come from the
per-frame semantic maps.
"""
from typing import Optional, Sequence, Tuple

import torch


def video_panoptic_targets(frame_labels: Sequence[torch.Tensor],
                           frame_masks: Sequence[torch.Tensor],
                           frame_instance_ids: Sequence[torch.Tensor],
                           frame_sem_segs: Optional[Sequence[Optional[torch.Tensor]]],
                           num_things_classes: int, num_stuff_classes: int
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Thing tubes (sorted by instance id) then stuff tubes (sorted by class).

    Args:
        frame_labels / frame_masks / frame_instance_ids: per frame, the thing instances: labels
            (N_t,), masks (N_t, H, W) and instance ids (N_t,) that identify an object across
            frames. Every frame has the same (H, W).
        frame_sem_segs: per frame a (1, H, W) or (H, W) semantic map (void = any value outside
            the stuff range) or None; None for the whole list means instance-only data.
        num_things_classes / num_stuff_classes: the stuff labels are
            [num_things_classes, num_things_classes + num_stuff_classes).
    Returns:
        labels (M,) int64 and masks (M, T, H, W) bool.
    """
    num_frames = len(frame_masks)
    if not num_frames or not len(frame_labels) == len(frame_instance_ids) == num_frames:
        raise ValueError(f'need the same, non-zero number of frames for labels, masks and '
                         f'instance ids, got {len(frame_labels)}, {num_frames}, '
                         f'{len(frame_instance_ids)}')
    height, width = frame_masks[0].shape[-2:]
    device = frame_masks[0].device
    tube_of, labels = {}, []
    for t in range(num_frames):
        ids, frame_label = frame_instance_ids[t].tolist(), frame_labels[t].tolist()
        if frame_masks[t].shape[-2:] != (height, width):
            raise ValueError(f'frame {t} has masks of size {tuple(frame_masks[t].shape[-2:])}, '
                             f'frame 0 has {(height, width)}')
        if len(ids) != len(frame_label) or len(ids) != frame_masks[t].shape[0]:
            raise ValueError(f'frame {t}: {len(frame_label)} labels, {frame_masks[t].shape[0]} '
                             f'masks and {len(ids)} instance ids')
        if len(set(ids)) != len(ids):
            raise ValueError(f'frame {t} lists an instance id twice: {ids}')
        for instance_id, label in zip(ids, frame_label):
            if instance_id not in tube_of:
                tube_of[instance_id] = len(labels)
                labels.append(label)
            elif labels[tube_of[instance_id]] != label:
                raise ValueError(f'instance {instance_id} changes label from '
                                 f'{labels[tube_of[instance_id]]} to {label} in frame {t}')
    order = sorted(tube_of)
    thing_masks = torch.zeros((len(order), num_frames, height, width), dtype=torch.bool,
                              device=device)
    position = {instance_id: index for index, instance_id in enumerate(order)}
    for t in range(num_frames):
        for row, instance_id in enumerate(frame_instance_ids[t].tolist()):
            thing_masks[position[instance_id], t] = frame_masks[t][row].bool()
    thing_labels = torch.tensor([labels[tube_of[i]] for i in order], dtype=torch.long,
                                device=device)

    if frame_sem_segs is None or num_stuff_classes == 0 or all(
            sem is None for sem in frame_sem_segs):
        return thing_labels, thing_masks
    if len(frame_sem_segs) != num_frames:
        raise ValueError(f'{len(frame_sem_segs)} semantic maps for {num_frames} frames')
    sem = torch.full((num_frames, height, width), -1, dtype=torch.long, device=device)
    for t, frame_sem in enumerate(frame_sem_segs):
        if frame_sem is not None:
            sem[t] = frame_sem.reshape(frame_sem.shape[-2:]).long()
    present = torch.unique(sem)
    stuff = present[(present >= num_things_classes)
                    & (present < num_things_classes + num_stuff_classes)]
    stuff_masks = sem.unsqueeze(0) == stuff.view(-1, 1, 1, 1)
    return torch.cat([thing_labels, stuff]), torch.cat([thing_masks, stuff_masks])
