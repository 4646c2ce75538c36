"""Batch preparation on the model's device: normalise, pad and stack images; pad targets."""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import PixelData

from seg.registry import MODELS
from seg.utils.constants import VOID_LABEL


@MODELS.register_module()
class SegDataPreprocessor(BaseDataPreprocessor):
    """Turn collated pipeline outputs into a normalised, padded (B, 3, Hp, Wp) batch.

    Args:
        mean, std: per-channel statistics in the channel order *after* the optional BGR->RGB
            swap (ImageNet RGB by default, as the reference).
        bgr_to_rgb: swap the channels of the (BGR) pipeline images.
        pad_size_divisor: Hp and Wp are multiples of this.
        pad_value: value of padded image pixels (applied after normalisation).
        mask_pad_value: value of padded ``gt_instances.masks`` pixels.
        seg_pad_value: value of padded ``gt_sem_seg`` pixels (void by default).
        fixed_size: (h, w): pad every batch to exactly this size (mmdet's BatchFixedSizePad);
            an image larger than it raises ``ValueError``.
        non_blocking: as mmengine's ``BaseDataPreprocessor``.

    ``forward`` sets ``batch_input_shape`` (Hp, Wp) and ``pad_shape`` (the image's own padded
    size: its size rounded up to the divisor, or ``fixed_size``) in every sample's metainfo.
    In training, targets are padded to (Hp, Wp) and must have their image's size (else
    ``ValueError``). Outside training they are left untouched: evaluation targets stay at the
    size the metrics compare them at.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 pad_size_divisor: int = 32,
                 pad_value: float = 0,
                 mask_pad_value: int = 0,
                 seg_pad_value: int = VOID_LABEL,
                 fixed_size: Optional[Sequence[int]] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3 or any(value <= 0 for value in std):
            raise ValueError(f'mean and std need 3 values each (std > 0), got {mean}, {std}')
        if pad_size_divisor < 1:
            raise ValueError(f'pad_size_divisor must be >= 1, got {pad_size_divisor}')
        if fixed_size is not None:
            fixed_size = tuple(int(side) for side in fixed_size)
            if len(fixed_size) != 2 or any(side % pad_size_divisor for side in fixed_size):
                raise ValueError(f'fixed_size must be (h, w), multiples of pad_size_divisor='
                                 f'{pad_size_divisor}, got {fixed_size}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                             persistent=False)
        self.bgr_to_rgb = bgr_to_rgb
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.mask_pad_value = mask_pad_value
        self.seg_pad_value = seg_pad_value
        self.fixed_size = fixed_size

    def forward(self, data: dict, training: bool = False) -> dict:
        """``data``: dict(inputs=list of (3, H, W) tensors or a (B, 3, H, W) tensor,
        data_samples=list of ``SegDataSample`` or None)."""
        data = self.cast_data(data)
        images: List[torch.Tensor] = list(data['inputs'])
        if not images:
            raise ValueError('SegDataPreprocessor got an empty batch')
        for index, image in enumerate(images):
            if image.dim() != 3 or image.shape[0] != 3:
                raise ValueError(f'image {index} of the batch must be (3, H, W), got '
                                 f'{tuple(image.shape)}')
        batch_shape = self._batch_shape([tuple(image.shape[-2:]) for image in images])
        batch = images[0].new_full((len(images), 3) + batch_shape, self.pad_value,
                                   dtype=torch.float32)
        for index, image in enumerate(images):
            image = image.float()
            if self.bgr_to_rgb:
                image = image.flip(0)
            height, width = image.shape[-2:]
            batch[index, :, :height, :width] = (image - self.mean) / self.std

        data_samples = data.get('data_samples')
        if data_samples is not None:
            if len(data_samples) != len(images):
                raise ValueError(f'{len(images)} images but {len(data_samples)} data samples')
            for image, sample in zip(images, data_samples):
                image_shape = tuple(image.shape[-2:])
                sample.set_metainfo(dict(batch_input_shape=batch_shape,
                                         pad_shape=self._own_pad_shape(image_shape)))
                if training:
                    # Evaluation targets stay at their own size: metrics compare them with
                    # predictions restored to the original image size.
                    self._pad_targets(sample, image_shape, batch_shape)
        return dict(inputs=batch, data_samples=data_samples)

    def _batch_shape(self, shapes: List[Tuple[int, int]]) -> Tuple[int, int]:
        if self.fixed_size is not None:
            for index, shape in enumerate(shapes):
                if shape[0] > self.fixed_size[0] or shape[1] > self.fixed_size[1]:
                    raise ValueError(f'image {index} of the batch has size {shape}, larger than '
                                     f'fixed_size {self.fixed_size}: crop or resize it first')
            return self.fixed_size
        return self._own_pad_shape((max(shape[0] for shape in shapes),
                                    max(shape[1] for shape in shapes)))

    def _own_pad_shape(self, shape: Tuple[int, int]) -> Tuple[int, int]:
        if self.fixed_size is not None:
            return self.fixed_size
        divisor = self.pad_size_divisor
        return (math.ceil(shape[0] / divisor) * divisor, math.ceil(shape[1] / divisor) * divisor)

    def _pad_targets(self, sample, image_shape: Tuple[int, int],
                     batch_shape: Tuple[int, int]) -> None:
        if 'gt_instances' in sample and 'masks' in sample.gt_instances:
            masks = self._pad_target(sample, 'gt_instances.masks', sample.gt_instances.masks,
                                     self.mask_pad_value, image_shape, batch_shape)
            sample.gt_instances.masks = masks  # InstanceData only checks the length N
        if 'gt_sem_seg' in sample:
            sem_seg = self._pad_target(sample, 'gt_sem_seg.sem_seg', sample.gt_sem_seg.sem_seg,
                                       self.seg_pad_value, image_shape, batch_shape)
            # PixelData refuses a field of a new size, so the container is rebuilt.
            sample.gt_sem_seg = PixelData(metainfo=sample.gt_sem_seg.metainfo, sem_seg=sem_seg)

    @staticmethod
    def _pad_target(sample, name: str, target: torch.Tensor, pad_value: Union[int, float],
                    image_shape: Tuple[int, int], batch_shape: Tuple[int, int]) -> torch.Tensor:
        """``target`` (..., h, w) padded bottom/right to ``batch_shape`` with ``pad_value``."""
        if tuple(target.shape[-2:]) != image_shape:
            raise ValueError(f'{name} of {sample.metainfo.get("img_path")} has size '
                             f'{tuple(target.shape[-2:])} but its image has {image_shape}')
        padded = target.new_full(target.shape[:-2] + batch_shape,
                                 bool(pad_value) if target.dtype == torch.bool else pad_value)
        padded[..., :image_shape[0], :image_shape[1]] = target
        return padded
