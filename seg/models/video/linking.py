"""MinVIS tube splitting and linking.

As the reference's ``video_split`` and ``match_from_embeds``
(``seg/models/detectors/mask2former_vid_minvis.py``).
"""
from typing import List, Tuple

import torch
from scipy.optimize import linear_sum_assignment


def video_split(num_frames: int, tube_size: int, overlap: int = 0) -> List[Tuple[int, int]]:
    """Consecutive (start, stop) frame ranges covering ``num_frames`` frames.

    As the reference's ``video_split``: without overlap the video is cut into
    ceil(T / tube_size) tubes; when the last one would be short by ``d`` frames and ``d`` is
    smaller than the number of tubes, the last ``d`` tubes give up one frame each (near-equal
    tubes), otherwise the last tube alone is shorter. With ``overlap`` every tube after the first
    starts ``overlap`` frames before the previous one stops (those frames are predicted twice;
    only the first prediction is kept).
    """
    if num_frames < 1:
        raise ValueError(f'a video needs at least one frame, got {num_frames}')
    if not 0 <= overlap < tube_size:
        raise ValueError(f'need 0 <= overlap < tube_size, got overlap={overlap}, '
                         f'tube_size={tube_size}')
    total, step = num_frames - overlap, tube_size - overlap
    if total <= 0:
        return [(0, num_frames)]
    num_tubes = -(-total // step)
    stops = [(index + 1) * step for index in range(num_tubes)]
    shortfall = stops[-1] - total
    if shortfall < num_tubes:
        for index in range(shortfall):
            stops[num_tubes - 1 - index] -= shortfall - index
    else:
        stops[-1] -= shortfall
    stops = [stop + overlap for stop in stops]
    starts = [0] + [stop - overlap for stop in stops[:-1]]
    return list(zip(starts, stops))


def match_embeddings(reference: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """Permutation ``p`` such that query ``current[p[i]]`` continues query ``reference[i]``.

    Hungarian matching on the cost 1 - cosine similarity of the query embeddings (Q, C).
    """
    if reference.shape != current.shape or reference.dim() != 2:
        raise ValueError(f'expected two (Q, C) embeddings of the same shape, got '
                         f'{tuple(reference.shape)} and {tuple(current.shape)}')
    reference = torch.nn.functional.normalize(reference.float(), dim=-1)
    current = torch.nn.functional.normalize(current.float(), dim=-1)
    cost = 1 - reference @ current.t()  # (reference, current)
    rows, cols = linear_sum_assignment(cost.cpu().numpy())
    permutation = torch.empty(reference.shape[0], dtype=torch.long)
    permutation[torch.as_tensor(rows)] = torch.as_tensor(cols, dtype=torch.long)
    return permutation.to(reference.device)
