"""Rebuild tests/data/reference_small/postproc_case_small.pth from the reference case folder.

Usage: python tools/reference_generators/make_postproc_reference.py [REFERENCE_CASE_DIR]

Keeps only what the post-processing equivalence test needs: the head's last-layer class and
mask logits (mask logits at the stride-4 size, before the head's resize), the image metas, the
fusion-head test_cfg, and the expected panoptic maps (int16) and instances (masks bit-packed)
of the default run and of the low-iou_thr run.
"""
from pathlib import Path

import numpy as np
import torch

from reference_files import case_dir_from_argv, load_case_file, save_fixture

META_KEYS = ('batch_input_shape', 'img_shape', 'ori_shape')


def _pack_masks(masks: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.packbits(masks.numpy().reshape(-1)))


def _expected_run(run: dict, with_masks: bool) -> dict:
    panoptic = [seg.to(torch.int16) for seg in run['panoptic_seg']]
    for seg, original in zip(panoptic, run['panoptic_seg']):
        assert torch.equal(seg.to(torch.int32), original), 'panoptic ids do not fit int16'
    instances = []
    for inst in run['instances']:
        entry = {key: inst[key] for key in
                 ('scores', 'labels', 'bboxes', 'canonical_order', 'mask_area')}
        if with_masks:
            entry['masks_packed'] = _pack_masks(inst['masks'])
            entry['mask_shape'] = tuple(inst['masks'].shape)
        instances.append(entry)
    return {'panoptic_seg': panoptic, 'instances': instances}


def main(case_dir: Path) -> None:
    semantic = load_case_file(case_dir, 'out_semantic.pth')
    postproc = load_case_file(case_dir, 'out_postproc.pth')
    metas = load_case_file(case_dir, 'inputs.pth')['image_metas']
    low = postproc['extra_iou_thr_low']
    data = {
        'mask_cls': semantic['predict_mask_cls_results'].clone(),
        'mask_pred_stride4': semantic['mask_pred'][-1].clone(),
        'image_metas': [{key: tuple(meta[key]) for key in META_KEYS} for meta in metas],
        'test_cfg': dict(postproc['test_cfg']),
        'expected': _expected_run(postproc, with_masks=True),
        'iou_thr_low': float(low['iou_thr']),
        'expected_iou_thr_low': _expected_run(low, with_masks=False),
    }
    save_fixture('postproc_case_small.pth', data)


if __name__ == '__main__':
    main(case_dir_from_argv())
