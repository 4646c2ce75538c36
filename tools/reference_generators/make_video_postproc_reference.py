"""Rebuild tests/data/reference_small/video_postproc_case_small.pth from the reference case.

Usage: python tools/reference_generators/make_video_postproc_reference.py [REFERENCE_CASE_DIR]

Keeps what the clip post-processing test needs: the head's clip-level class and objectness
logits, the last stride-4 tube mask logits (1, Q, T, h, w), the frame metas, the fusion-head
test_cfg and the per-frame results of ``Mask2formerVideo.predict`` on the 2-frame clip
(panoptic maps as int16, instances without masks), for the default and the low-iou_thr run.
"""
from pathlib import Path

import torch

from reference_files import case_dir_from_argv, load_case_file, save_fixture

META_KEYS = ('batch_input_shape', 'img_shape', 'ori_shape')
INSTANCE_KEYS = ('scores', 'labels', 'bboxes', 'canonical_order', 'mask_area', 'instances_id')


def _expected_run(run: dict) -> dict:
    panoptic = [seg.to(torch.int16) for seg in run['track_panoptic_seg'][0]]
    for seg, original in zip(panoptic, run['track_panoptic_seg'][0]):
        assert torch.equal(seg.to(torch.int32), original), 'panoptic ids do not fit int16'
    instances = [{key: frame[key] for key in INSTANCE_KEYS} for frame in run['track_instances'][0]]
    return {'panoptic_seg': panoptic, 'instances': instances}


def main(case_dir: Path) -> None:
    video = load_case_file(case_dir, 'out_video.pth')
    postproc = load_case_file(case_dir, 'out_postproc.pth')
    metas = load_case_file(case_dir, 'inputs.pth')['video_metas'][0]
    low = video['extra_iou_thr_low']
    data = {
        'mask_cls': video['predict_mask_cls_results'][0].clone(),
        'objectness': video['predict_iou_results'][0].clone(),
        'mask_pred_stride4': video['mask_pred'][-1][0].clone(),
        'frame_metas': [{key: tuple(meta[key]) for key in META_KEYS} for meta in metas],
        'test_cfg': dict(postproc['test_cfg']),
        'expected': _expected_run(video),
        'iou_thr_low': float(low['iou_thr']),
        'expected_iou_thr_low': _expected_run(low),
    }
    save_fixture('video_postproc_case_small.pth', data)


if __name__ == '__main__':
    main(case_dir_from_argv())
