"""Clip batches (``ClipTask`` through the segmentor): tube targets and matching, losses,
training, VOS reproducing the given first-frame masks and VPS ids constant over the video."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from seg.datasets import VIPSegDataset
from seg.models import build_segmentor
from seg.models.heads import video_panoptic_targets
from seg.testing.toy_video_data import generate_toy_video_dataset
from seg.utils.constants import INSTANCE_OFFSET

FRAME_SCALE = (48, 32)  # toy frames at half size: fast on CPU


def pipeline(train):
    if train:
        return [dict(type='VideoClipSample', num_frames=2, interval=1),
                dict(type='ClipTransform', transforms=[
                    dict(type='LoadImageFromFile'), dict(type='LoadVideoAnnotations'),
                    dict(type='Resize', scale=FRAME_SCALE), dict(type='RandomFlip', prob=0.5)]),
                dict(type='PackVideoInputs')]
    return [dict(type='VideoClipSample', num_frames=None),
            dict(type='ClipTransform', transforms=[
                dict(type='LoadImageFromFile'), dict(type='Resize', scale=FRAME_SCALE),
                dict(type='LoadVideoAnnotations')]),
            dict(type='PackVideoInputs')]


@pytest.fixture(scope='module')
def video_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_video_model')
    generate_toy_video_dataset(root, num_train=1, num_val=1, num_frames=(6, 6), seed=0,
                               overwrite=True, log=None)
    return root


def video_model(tiny_cfg, num_proposals=8):
    cfg = copy.deepcopy(tiny_cfg)
    cfg['data_preprocessor']['type'] = 'VideoSegDataPreprocessor'
    cfg['vocabulary'] = dict(name='toy_video_test', thing_classes=['ball', 'box', 'tent'],
                             stuff_classes=['sky', 'grass'])
    cfg['video_cfg'] = dict(clip_size=3, clip_size_small=3, vos_on=True,
                            num_proposals=num_proposals)
    torch.manual_seed(0)
    return build_segmentor(cfg)


def dataset(root, train):
    return VIPSegDataset(data_root=str(root / 'vipseg'), ann_file='train.txt',
                         pipeline=pipeline(train), test_mode=not train)


def test_tube_losses_on_generated_clips(tiny_cfg, video_root, single_thread):
    model = video_model(tiny_cfg)
    np.random.seed(0)
    clips = dataset(video_root, train=True)
    data = model.data_preprocessor(pseudo_collate([clips[0], clips[0]]), True)
    assert data['inputs'].shape == (2, 2, 3, 32, 64)  # (B, T, 3, H, W), padded to /32
    frame = data['data_samples'][0][1]
    assert frame.gt_instances.masks.shape[-2:] == (32, 64)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_mask', 'loss_dice', 'd0.loss_cls', 'd1.loss_dice'} <= set(losses)
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()
    assert model.panoptic_head.query_feat.weight.grad.abs().sum() > 0

    output = model(**data, mode='tensor')
    assert output.last.mask_logits.shape == (2, 8, 2, 8, 16)  # one tube per query


def test_tubes_are_matched_as_whole_clips(tiny_cfg, video_root):
    model = video_model(tiny_cfg)
    clip = dataset(video_root, train=False)[0]['data_samples']
    frames = list(clip)[:3]
    labels, tubes = video_panoptic_targets(
        [f.gt_instances.labels for f in frames], [f.gt_instances.masks for f in frames],
        [f.gt_instances.instances_ids for f in frames],
        [f.gt_sem_seg.sem_seg for f in frames], 3, 2)
    num_targets, num_queries = len(labels), 8
    owner = torch.randperm(num_queries, generator=torch.Generator().manual_seed(1))
    owner = owner[:num_targets]  # query owner[k] predicts tube k
    mask_pred = torch.full((1, num_queries) + tubes.shape[1:], -8.0)
    class_logits = torch.zeros(1, num_queries, 5 + 1)
    for target, query in enumerate(owner.tolist()):
        mask_pred[0, query] = tubes[target].float() * 16 - 8
        class_logits[0, query, labels[target]] = 10.0
    ((queries, targets),) = model.criterion.match(
        class_logits, mask_pred.flatten(2, 3), [dict(labels=labels, masks=tubes.flatten(1, 2))])
    assert torch.equal(owner[targets], queries)


def test_after_training_vos_reproduces_the_first_frame_and_vps_ids_stay(
        tiny_cfg, video_root, single_thread):
    model = video_model(tiny_cfg)
    np.random.seed(0)
    clips = dataset(video_root, train=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(120):  # overfit the one toy video
        data = model.data_preprocessor(pseudo_collate([clips[0], clips[0]]), True)
        loss = sum(model(**data, mode='loss').values())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval()
    video = pseudo_collate([dataset(video_root, train=False)[0]])
    result = model(**model.data_preprocessor(video, False), mode='predict')[0]

    first = result[0].gt_instances
    vos = result[0].pred_vos_seg.sem_seg[0]
    for mask, object_id in zip(first.masks.bool(), first.instances_ids.tolist()):
        predicted = vos == object_id
        iou = (predicted & mask).sum() / (predicted | mask).sum()
        assert iou > 0.7, (object_id, float(iou))

    # Objects visible in every frame keep one panoptic id with their own class in the frames
    # where a segment covers them (the area-ratio rule may drop a segment in a frame; whether it
    # does depends on how well this short overfit went, the id must not change either way).
    present = set.intersection(*[set(f.gt_instances.instances_ids.tolist()) for f in result])
    assert present
    unassigned = model.num_classes
    covered_frames = 0
    for object_id in present:
        ids = set()
        for frame in result:
            row = frame.gt_instances.instances_ids.tolist().index(object_id)
            panoptic = frame.pred_panoptic_seg.sem_seg[0][frame.gt_instances.masks[row].bool()]
            value = int(panoptic.mode().values)
            if value % INSTANCE_OFFSET == unassigned:
                continue
            assert value % INSTANCE_OFFSET == int(frame.gt_instances.labels[row])
            ids.add(value // INSTANCE_OFFSET)
            covered_frames += 1
        assert len(ids) <= 1 and all(segment_id > 0 for segment_id in ids)
    assert covered_frames >= len(result)

    tracks = result.pred_track_instances
    assert tracks.masks.shape[:2] == (len(tracks), len(result))
    assert torch.equal(tracks.instances_id, torch.arange(1, len(tracks) + 1))
