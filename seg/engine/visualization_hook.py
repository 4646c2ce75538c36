"""Writes panoptic predictions drawn over the input images during testing (``--show-dir``)."""
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist

from seg.registry import HOOKS
from seg.utils.colors import colorize_panoptic


@HOOKS.register_module()
class SegVisualizationHook(Hook):
    """Saves ``<show_dir>/<image name>.png``: the image blended with its panoptic prediction
    (segment colours as in ``seg.apis.visualizer``).

    Args:
        show_dir: output folder (created if needed); relative paths go under the work dir.
        alpha: weight of the colour overlay.
    """

    def __init__(self, show_dir: Optional[str] = None, alpha: float = 0.5) -> None:
        self.show_dir = show_dir
        self.alpha = alpha

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.show_dir or not outputs:
            return
        folder = self.show_dir if osp.isabs(self.show_dir) else osp.join(runner.work_dir,
                                                                          self.show_dir)
        mkdir_or_exist(folder)
        num_classes = len(runner.test_dataloader.dataset.metainfo['classes'])
        for sample in outputs:
            if 'pred_panoptic_seg' not in sample:
                continue
            image = cv2.imread(sample.img_path)
            if image is None:
                raise FileNotFoundError(f'cannot read {sample.img_path} for visualisation')
            panoptic = sample.pred_panoptic_seg.sem_seg[0].cpu().numpy()
            colours = colorize_panoptic(panoptic, num_classes)[..., ::-1]
            if colours.shape[:2] != image.shape[:2]:
                colours = cv2.resize(colours, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
            blended = cv2.addWeighted(image, 1 - self.alpha, np.ascontiguousarray(colours),
                                      self.alpha, 0)
            name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
            cv2.imwrite(osp.join(folder, name), blended)
