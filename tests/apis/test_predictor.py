"""The Python API on a tiny random model: every task returns well-formed results, bad inputs
raise clear errors."""
import dataclasses

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch

from seg.apis import Predictor
from seg.structures.panoptic_io import rgb_to_id
from seg.utils.constants import INSTANCE_OFFSET
from .conftest import HEIGHT, WIDTH, tiny_predictor


def test_runs_on_the_cpu_without_a_gpu(predictor):
    expected = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert predictor.device.type == expected
    assert next(predictor.model.parameters()).device.type == expected


def test_image_tasks_return_well_formed_results(predictor, image):
    result = predictor.predict(image, task='all')
    num_classes = len(predictor.class_names)
    assert result.image_size == (HEIGHT, WIDTH)
    assert result.panoptic.shape == (HEIGHT, WIDTH) and result.panoptic.dtype == np.int32
    labels = result.panoptic % INSTANCE_OFFSET
    assert labels.min() >= 0 and labels.max() <= num_classes  # num_classes = unassigned
    assert result.semantic.shape == (HEIGHT, WIDTH)
    assert 0 <= result.semantic.min() and result.semantic.max() < num_classes

    instances = result.instances
    assert len(instances) > 0
    assert instances.masks.shape == (len(instances), HEIGHT, WIDTH)
    assert instances.masks.dtype == bool
    assert np.all((instances.scores >= 0) & (instances.scores <= 1))
    assert np.all(instances.labels < predictor.num_things)
    assert instances.names[0] in predictor.class_names
    assert np.all(instances.boxes[:, 2] <= WIDTH) and np.all(instances.boxes[:, 3] <= HEIGHT)

    coco = result.to_coco_rle(image_id=7, category_ids=list(range(100, 100 + num_classes)))
    decoded = mask_utils.decode(coco[0]['segmentation']).astype(bool)
    assert np.array_equal(decoded, instances.masks[0])
    assert coco[0]['image_id'] == 7 and coco[0]['category_id'] == 100 + instances.labels[0]

    segments = result.segments()
    assert sum(s['area'] for s in segments) == int((labels < num_classes).sum())
    png, info = result.to_panoptic_png()
    ids = rgb_to_id(png)
    for segment, entry in zip(segments, info):
        assert entry['area'] == int((ids == entry['id']).sum()) == segment['area']
        assert entry['category_id'] == segment['label']
    assert set(result.to_numpy()) >= {'panoptic', 'semantic', 'instance_masks'}


def test_single_task_leaves_the_others_out(predictor, image):
    result = predictor.predict(image, task='instance')
    assert result.instances is not None and result.panoptic is None and result.semantic is None
    with pytest.raises(ValueError, match='no panoptic map'):
        result.segments()
    with pytest.raises(ValueError, match='unknown task'):
        predictor.predict(image, task='depth')


def test_prompts_give_one_mask_per_prompt(predictor, image):
    predictor.set_image(image)
    points = [[30.0, 20.0], [5.0, 50.0]]
    boxes = [[20.0, 10.0, 60.0, 40.0]]
    result = predictor.predict_prompts(points=points, boxes=boxes)
    assert result.masks.shape == (3, HEIGHT, WIDTH) and result.masks.dtype == bool
    assert np.all(result.labels < len(predictor.class_names))
    assert np.all((result.scores >= 0) & (result.scores <= 1))
    # Each prompt only sees itself in the decoder: the box alone gives the same mask.
    alone = predictor.predict_prompts(boxes=boxes)
    assert np.array_equal(alone.masks[0], result.masks[2])
    assert alone.labels[0] == result.labels[2]
    assert len(result.to_coco_rle()) == 3


@pytest.mark.parametrize('points, boxes, message', [
    ([[WIDTH, 5.0]], None, 'point 0 .* outside'),
    ([[-1.0, 5.0]], None, 'point 0 .* outside'),
    ([[3.0, float('nan')]], None, 'non-finite'),
    (None, [[10.0, 10.0, 10.0, 30.0]], 'box 0 .* degenerate'),
    (None, [[10.0, 30.0, 40.0, 20.0]], 'box 0 .* degenerate'),
    (None, [[10.0, 10.0, WIDTH + 5.0, 30.0]], 'box 0 .* outside'),
    (None, [[1.0, 2.0, 3.0]], r'shape \(N, 4\)'),
    (None, None, 'at least one'),
])
def test_bad_prompts_raise_clear_errors(predictor, image, points, boxes, message):
    predictor.set_image(image)
    with pytest.raises(ValueError, match=message):
        predictor.predict_prompts(points=points, boxes=boxes)


def test_an_image_is_encoded_once_for_every_later_call(predictor, image):
    """set_image runs the backbone and the pixel decoder once; panoptic, prompts and a
    vocabulary change reuse them (SAM's set_image / predict split)."""
    calls = dict(backbone=0, pixel_decoder=0)
    for name, module in (('backbone', predictor.model.backbone),
                         ('pixel_decoder', predictor.model.panoptic_head.pixel_decoder)):
        module.register_forward_hook(
            lambda *args, name=name: calls.__setitem__(name, calls[name] + 1))
    predictor.set_image(image)
    first = predictor.predict(task='panoptic')
    predictor.predict_prompts(points=[[30, 20]])
    predictor.predict_prompts(boxes=[[10, 5, 50, 40]])
    predictor.set_vocabulary(['ball', 'box'], stuff_classes=['sky'])
    relabelled = predictor.predict(task='all')
    assert calls == dict(backbone=1, pixel_decoder=1)
    assert relabelled.class_names == ('ball', 'box', 'sky')
    assert first.panoptic.shape == relabelled.panoptic.shape
    predictor.predict(image, task='semantic')  # a new image is encoded again
    assert calls == dict(backbone=2, pixel_decoder=2)


def test_prompts_need_a_model_with_prompt_parameters(tiny_cfg, image):
    predictor = Predictor.from_config(dict(model=tiny_cfg))
    with pytest.raises(ValueError, match='no prompt encoder'):
        predictor.predict_prompts(points=[[3, 3]], image=image)


def test_vocabulary_can_be_changed_at_run_time(predictor, image):
    predictor.set_vocabulary(['zebra', 'giraffe,camelopard'], stuff_classes=['grass'])
    assert predictor.class_names == ('zebra', 'giraffe,camelopard', 'grass')
    result = predictor.predict(image, task='all')
    assert (result.panoptic % INSTANCE_OFFSET).max() <= 3
    assert np.all(result.instances.labels < 2)
    assert set(result.instances.names) <= {'zebra', 'giraffe'}
    with pytest.raises(ValueError, match='empty'):
        predictor.set_vocabulary([])


def test_vocabulary_can_replace_the_configured_one_at_build_time(tiny_cfg):
    predictor = Predictor.from_config(dict(model=tiny_cfg), vocabulary=['cat', 'dog'])
    assert predictor.class_names == ('cat', 'dog') and predictor.num_things == 2


def test_video_ids_are_stable_and_first_frame_objects_are_followed(predictor, image,
                                                                   tmp_path):
    frames = [np.roll(image, shift, axis=1) for shift in (0, 2, 4)]
    first_masks = np.zeros((2, HEIGHT, WIDTH), dtype=bool)
    first_masks[0, 10:40, 20:60] = True
    first_masks[1, 45:, :] = True
    video = predictor.predict_video(frames, task='all', first_frame_masks=first_masks,
                                    object_ids=[3, 8])
    assert len(video) == 3
    ids = [tuple(frame.instances.ids) for frame in video.frames]
    assert ids[0] == ids[1] == ids[2] and list(video.track_ids) == list(ids[0])
    for frame, vos in zip(video.frames, video.vos):
        assert frame.panoptic.shape == vos.shape == (HEIGHT, WIDTH)
        assert set(np.unique(vos)) <= {0, 3, 8}
    folder = tmp_path / 'frames'
    folder.mkdir()
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f'{index:05d}.png'), frame[..., ::-1])
    from_folder = predictor.predict_video(folder, task='panoptic')
    assert len(from_folder) == 3 and from_folder.frames[2].instances is None
    assert np.array_equal(from_folder.frames[0].panoptic, video.frames[0].panoptic)
    # A config that asks for VOS still runs without first-frame masks (nothing to follow).
    vos_config = predictor.model.video_cfg
    predictor.model.video_cfg = dataclasses.replace(vos_config, vos_on=True)
    try:
        without_masks = predictor.predict_video(frames, task='panoptic')
    finally:
        predictor.model.video_cfg = vos_config
    assert without_masks.vos is None and len(without_masks) == 3
    with pytest.raises(ValueError, match='first-frame masks have size'):
        predictor.predict_video(frames, first_frame_masks=first_masks[:, :10])
    with pytest.raises(ValueError, match='frame 1 has size'):
        predictor.predict_video([image, image[:30]])


def test_checkpoint_is_loaded(tiny_cfg, tmp_path):
    torch.manual_seed(1)
    source = Predictor.from_config(dict(model=tiny_cfg)).model
    torch.save(dict(state_dict=source.state_dict()), tmp_path / 'model.pth')
    torch.manual_seed(2)
    loaded = Predictor.from_config(dict(model=tiny_cfg), tmp_path / 'model.pth').model
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def multi_point_predictor(tiny_cfg):
    return tiny_predictor(tiny_cfg, frame='padded', content_seed='mask_features',
                          multi_point=True)


def test_multi_point_prompts_give_one_mask_per_prompt(tiny_cfg, image):
    predictor = multi_point_predictor(tiny_cfg)
    predictor.set_image(image)
    seen = []
    original = predictor.model.predict_prompts
    predictor.model.predict_prompts = lambda features, samples, **kw: (
        seen.append(samples[0].prompts.clone()) or original(features, samples, **kw))
    one = predictor.predict_prompts(points=[[30, 20], [5, 50], [70, 10]], labels=[1, 0, 1])
    assert one.masks.shape == (1, HEIGHT, WIDTH)
    prompts = seen[-1]
    scale = 48 / WIDTH  # the network input is the image resized to fit 48 x 48
    torch.testing.assert_close(prompts.boxes.cpu(), torch.tensor([[30., 20., 30., 20.]]) * scale,
                               atol=0.2, rtol=0)  # (rounded heights: h scale differs a bit)
    assert prompts.point_labels.tolist() == [[0, 1]]  # the other clicks, in order
    many = predictor.predict_prompts(prompts=[
        dict(points=[[30, 20]]),
        dict(points=[[5, 50], [30, 20]], labels=[0, 1]),  # first positive click leads
        dict(box=[20, 10, 60, 40], points=[[25, 15]], labels=[0])])
    assert many.masks.shape == (3, HEIGHT, WIDTH)
    prompts = seen[-1]
    assert prompts.is_point.tolist() == [True, True, False]
    assert prompts.point_labels.tolist() == [[-1], [0], [0]]
    # One prompt per click, as before, when no labels are given.
    assert predictor.predict_prompts(points=[[30, 20], [5, 50]]).masks.shape[0] == 2
    # A prompt alone gives the same mask as in a batch of prompts (decoded independently).
    alone = predictor.predict_prompts(prompts=[dict(points=[[5, 50], [30, 20]],
                                                    labels=[0, 1])])
    assert np.array_equal(alone.masks[0], many.masks[1])
    with pytest.raises(ValueError, match='box or a positive click'):
        predictor.predict_prompts(points=[[5, 50]], labels=[0])
    with pytest.raises(ValueError, match='one 0 .* or 1'):
        predictor.predict_prompts(points=[[5, 50]], labels=[2])
    with pytest.raises(ValueError, match='either prompts'):
        predictor.predict_prompts(points=[[5, 50]], prompts=[dict(points=[[5, 50]])])


def test_multi_point_prompts_need_a_multi_point_model(predictor, image):
    predictor.set_image(image)
    with pytest.raises(ValueError, match='multi_point=False'):
        predictor.predict_prompts(points=[[30, 20], [5, 50]], labels=[1, 0])
    # A single click with a label is a plain prompt: fine for any model.
    assert predictor.predict_prompts(points=[[30, 20]], labels=[1]).masks.shape[0] == 1


def test_predict_with_prompts_gives_segmentation_and_prompt_masks_in_one_pass(tiny_cfg, image):
    predictor = multi_point_predictor(tiny_cfg)
    predictor.set_image(image)
    decoder_calls = []
    predictor.model.panoptic_head.register_forward_hook(lambda *args: decoder_calls.append(1))
    both = predictor.predict(task='all', prompts=[dict(points=[[30, 20]]),
                                                  dict(points=[[5, 50], [30, 20]],
                                                       labels=[0, 1])])
    assert len(decoder_calls) == 1
    plain = predictor.predict(task='all')
    prompts = predictor.predict_prompts(prompts=[dict(points=[[30, 20]]),
                                                 dict(points=[[5, 50], [30, 20]],
                                                      labels=[0, 1])])
    assert np.array_equal(both.panoptic, plain.panoptic)
    assert np.array_equal(both.semantic, plain.semantic)
    np.testing.assert_allclose(both.instances.scores, plain.instances.scores, atol=1e-5)
    assert plain.prompts is None
    assert both.prompts.masks.shape == (2, HEIGHT, WIDTH)
    assert (both.prompts.masks != prompts.masks).mean() < 1e-3
    assert np.array_equal(both.prompts.labels, prompts.labels)
    np.testing.assert_allclose(both.prompts.scores, prompts.scores, atol=1e-5)
    # Plain clicks, and the same errors as predict_prompts.
    assert predictor.predict(points=[[30, 20], [70, 10]]).prompts.masks.shape[0] == 2
    with pytest.raises(ValueError, match='either prompts'):
        predictor.predict(points=[[5, 50]], prompts=[dict(points=[[5, 50]])])
