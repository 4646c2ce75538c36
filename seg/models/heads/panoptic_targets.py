"""Ground truth of one image as the per-segment targets the mask decoder is trained on."""
from typing import Optional, Tuple

import torch


def panoptic_targets(gt_labels: torch.Tensor, gt_masks: torch.Tensor,
                     gt_sem_seg: Optional[torch.Tensor], num_things_classes: int,
                     num_stuff_classes: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Thing instances plus one mask per stuff class present in the semantic map.

    Args:
        gt_labels: (N,) thing labels in [0, num_things_classes).
        gt_masks: (N, H, W) thing masks (bool or 0/1).
        gt_sem_seg: (1, H, W) or (H, W) semantic map, or None (instance-only data). Only its
            stuff labels are used; void and thing pixels are ignored here.
    Returns:
        labels (M,) int64 and masks (M, H, W) bool, things first.
    """
    labels = [gt_labels.long()]
    masks = [gt_masks.bool()]
    if gt_sem_seg is not None and num_stuff_classes > 0:
        sem_seg = gt_sem_seg.reshape(gt_sem_seg.shape[-2:]).long()
        present = torch.unique(sem_seg)
        stuff = present[(present >= num_things_classes)
                        & (present < num_things_classes + num_stuff_classes)]
        if stuff.numel():
            labels.append(stuff)
            masks.append(sem_seg.unsqueeze(0) == stuff.view(-1, 1, 1))
    return torch.cat(labels), torch.cat(masks)
