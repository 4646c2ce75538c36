"""Per-frame video post-processing: reference equivalence on a 2-frame clip, stable VPS ids,
VIS track summaries and VOS proposal matching."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData

from seg.models.postprocess import (QueryPostprocessor, VideoFramePostprocessor,
                                    match_proposals_to_objects)
from seg.structures import SegDataSample
from seg.utils.constants import INSTANCE_OFFSET

REFERENCE_FILE = (Path(__file__).resolve().parents[2] / 'data' / 'reference_small'
                  / 'video_postproc_case_small.pth')


def canonical_order(scores, labels, mask_area):
    """Indices sorted by (-score, label, -mask_area, index), as the reference files store."""
    keys = list(zip((-scores).tolist(), labels.tolist(), (-mask_area).tolist(),
                    range(len(scores))))
    return torch.tensor(sorted(range(len(keys)), key=keys.__getitem__), dtype=torch.long)


def same_partition(a, b):
    """Whether two id maps split the pixels into the same segments."""
    pairs = torch.stack([a.flatten(), b.flatten()], 1).unique(dim=0)
    return len(pairs) == len(a.unique()) == len(b.unique())


@pytest.mark.parametrize('run', ['default', 'iou_thr_low'])
def test_clip_results_match_reference_video_predict(run):
    reference = torch.load(REFERENCE_FILE, weights_only=True)
    test_cfg = dict(reference['test_cfg'])
    expected = reference['expected']
    if run == 'iou_thr_low':
        test_cfg['iou_thr'] = reference['iou_thr_low']
        expected = reference['expected_iou_thr_low']
    postprocessor = QueryPostprocessor(test_cfg=test_cfg)
    post = VideoFramePostprocessor(postprocessor, 3, reference['mask_cls'], reference['objectness'])
    masks = reference['mask_pred_stride4']  # (Q, T, h, w), as the head predicted the tube
    metas = reference['frame_metas']
    for t, meta in enumerate(metas):
        logits = F.interpolate(masks[None, :, t], size=meta['batch_input_shape'],
                               mode='bilinear', align_corners=False)[0]
        outputs = post.frame(logits, SegDataSample(metainfo=meta))
        panoptic = outputs['panoptic']
        expected_panoptic = expected['panoptic_seg'][t][0].to(torch.int32)
        # Same segments and classes; thing ids may only differ by the video-level renumbering.
        assert torch.equal(panoptic % INSTANCE_OFFSET, expected_panoptic % INSTANCE_OFFSET)
        assert same_partition(panoptic, expected_panoptic)

        instances, expected_instances = outputs['instances'], expected['instances'][t]
        mask_area = instances.masks.flatten(1).sum(1)
        order = canonical_order(instances.scores, instances.labels, mask_area)
        expected_order = expected_instances['canonical_order']
        assert len(order) == len(expected_order)
        assert torch.equal(instances.labels[order], expected_instances['labels'][expected_order])
        torch.testing.assert_close(instances.scores[order],
                                   expected_instances['scores'][expected_order],
                                   atol=1e-4, rtol=0)
        torch.testing.assert_close(instances.bboxes[order],
                                   expected_instances['bboxes'][expected_order],
                                   atol=1e-4, rtol=0)
        assert torch.equal(instances.instances_id, torch.arange(1, len(instances) + 1))
    tracks = post.track_summary()
    assert torch.equal(tracks['instances_id'], torch.arange(1, len(tracks['labels']) + 1))


def test_vps_ids_stay_with_their_query_when_another_query_drops_out():
    """Query 0 (a thing) vanishes in frame 1; query 1 must keep id 2 (the reference renumbers
    the survivors of each frame, so it would become 1)."""
    postprocessor = QueryPostprocessor(test_cfg=dict(object_mask_thr=0.0, iou_thr=0.5))
    mask_cls = torch.full((3, 4), -10.0)
    mask_cls[0, 0] = mask_cls[1, 1] = mask_cls[2, 2] = 10.0  # thing, thing, stuff
    post = VideoFramePostprocessor(postprocessor, 2, mask_cls)
    meta = dict(img_shape=(8, 8), ori_shape=(8, 8))
    ids_of_query1 = []
    for frame in range(2):
        logits = torch.full((3, 8, 8), -10.0)
        logits[2] = 10.0
        if frame == 0:
            logits[0, :3, :3] = 20.0
        logits[1, 5:, 5:] = 20.0
        panoptic = post.frame(logits, SegDataSample(metainfo=meta))['panoptic']
        ids_of_query1.append(int(panoptic[6, 6]))
        assert int(panoptic[0, 7]) == 2  # stuff keeps its label
    assert ids_of_query1 == [1 + 2 * INSTANCE_OFFSET] * 2


def test_track_scores_average_the_frames():
    postprocessor = QueryPostprocessor(test_cfg=dict(panoptic_on=False, instance_on=True,
                                             max_per_image=1))
    mask_cls = torch.tensor([[5.0, -5.0]])
    post = VideoFramePostprocessor(postprocessor, 1, mask_cls)
    meta = dict(img_shape=(4, 4), ori_shape=(4, 4))
    scores = []
    for value in (2.0, 0.5):
        outputs = post.frame(torch.full((1, 4, 4), value), SegDataSample(metainfo=meta))
        scores.append(float(outputs['instances'].scores[0]))
    summary = post.track_summary()
    assert summary['scores'].tolist() == pytest.approx([sum(scores) / 2])
    assert summary['instances_id'].tolist() == [1]


def test_vos_matches_proposals_to_first_frame_objects_and_propagates_them():
    postprocessor = QueryPostprocessor(test_cfg=dict(panoptic_on=False))
    mask_cls = torch.zeros(3, 2)
    objectness = torch.tensor([[3.0], [2.0], [-5.0]])
    post = VideoFramePostprocessor(postprocessor, 1, mask_cls, objectness, vos_on=True,
                                   num_proposals=2)
    meta = dict(img_shape=(6, 6), ori_shape=(6, 6))
    first = SegDataSample(metainfo=meta)
    object_masks = torch.zeros(2, 6, 6, dtype=torch.bool)
    object_masks[0, :3] = True  # object 17: top half
    object_masks[1, 3:] = True  # object 4: bottom half
    first.gt_instances = InstanceData(masks=object_masks, instances_ids=torch.tensor([17, 4]),
                                      labels=torch.zeros(2, dtype=torch.long))
    logits = torch.full((3, 6, 6), -9.0)
    logits[0, 3:] = 9.0  # best proposal covers the bottom half
    logits[1, :3] = 9.0
    vos = post.frame(logits, first)['vos']
    assert vos[0, 0] == 17 and vos[5, 5] == 4
    # The objects swap places: the ids follow their queries; no GT is needed any more.
    swapped = logits[[1, 0, 2]]
    swapped[2, :, 0] = 9.0  # the unmatched proposal never paints
    vos = post.frame(swapped, SegDataSample(metainfo=meta))['vos']
    assert vos[0, 1] == 4 and vos[5, 1] == 17


def test_vos_without_first_frame_objects_is_an_error():
    postprocessor = QueryPostprocessor(test_cfg=dict(panoptic_on=False))
    post = VideoFramePostprocessor(postprocessor, 1, torch.zeros(2, 2), torch.zeros(2, 1),
                                   vos_on=True)
    with pytest.raises(KeyError, match='gt_instances'):
        post.frame(torch.zeros(2, 4, 4), SegDataSample(metainfo=dict(img_shape=(4, 4),
                                                                      ori_shape=(4, 4))))


def test_proposal_matching_maximises_iou():
    proposals = torch.zeros(3, 4, 4, dtype=torch.bool)
    proposals[0, :2], proposals[1, 2:], proposals[2, :, :2] = True, True, True
    objects = torch.zeros(2, 4, 4, dtype=torch.bool)
    objects[0, 2:], objects[1, :, :2] = True, True
    assert match_proposals_to_objects(proposals, objects) == {1: 0, 2: 1}
