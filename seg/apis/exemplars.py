"""Example masks given to ``Predictor.add_exemplar``: checked, then embedded with the image's
cached features (``seg.models.exemplar_prototypes``)."""
from typing import Dict, Mapping, Tuple

import numpy as np
import torch

from seg.models.exemplar_prototypes import example_masks_to_input, exemplar_embeddings


def check_example_masks(name: str, masks, image_size: Tuple[int, int]) -> torch.Tensor:
    """(N, H, W) bool tensor of the example masks of class ``name`` on an image of
    ``image_size``; a wrong size, an empty mask or a non-mask array raises ``ValueError``."""
    array = np.asarray(masks)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[0] == 0:
        raise ValueError(f'example mask of {name!r} must be (H, W) or (N, H, W), got shape '
                         f'{array.shape}')
    if tuple(array.shape[1:]) != tuple(image_size):
        raise ValueError(f'example mask of {name!r} has size {tuple(array.shape[1:])}, its '
                         f'image {tuple(image_size)}')
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError(f'example mask of {name!r} must be boolean or 0/1, got values '
                         f'{np.unique(array)[:5].tolist()}...')
    array = array.astype(bool)
    empty = [index for index, mask in enumerate(array) if not mask.any()]
    if empty:
        raise ValueError(f'example mask {empty} of {name!r} is empty: mark the object\'s pixels')
    return torch.from_numpy(array)


def embed_example_masks(model, image_state: Mapping, name: str, masks
                        ) -> Dict[str, torch.Tensor]:
    """``decoder`` / ``clip`` embeddings (N, D) of example masks (original-image pixels) of an
    image encoded by ``Predictor`` (``features``, ``metainfo``, ``size``)."""
    checked = check_example_masks(name, masks, image_state['size'])
    coverage = example_masks_to_input(checked, image_state['metainfo'])
    return exemplar_embeddings(model, image_state['features'], coverage)
