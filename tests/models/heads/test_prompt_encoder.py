"""Location prompts -> decoder queries: the reference's encoding and independent decoding.

Reference data: tests/data/reference_small/prompt_case_small.pth (reference OMG-Seg code, see
make_prompt_openvoc_reference.py): 2 images x 4 prompts (3 jittered boxes, 1 click as its
6x6 pseudo box), every intermediate of the reference's prompt encoding and the prompt forward.
"""
from pathlib import Path

import pytest
import torch
from mmengine.structures import InstanceData

from seg.models.heads import PromptEncoder, prompt_self_attention_mask
from seg.models.postprocess import restore_mask_logits
from seg.models.tasks import stack_sample_prompts
from seg.structures import SegDataSample

REFERENCE_DIR = Path(__file__).parents[2] / 'data' / 'reference_small'


@pytest.fixture(scope='module')
def prompt_case():
    return torch.load(REFERENCE_DIR / 'prompt_case_small.pth', weights_only=True)


def encoder_like(reference: PromptEncoder, **settings) -> PromptEncoder:
    """A prompt encoder with other settings and the reference case's parameters."""
    encoder = PromptEncoder(feat_channels=reference.pos_linear.out_features, **settings)
    encoder.load_state_dict(reference.state_dict())
    return encoder.eval()


def case_prompts(case, click_as_point: bool):
    """The case's prompts; the 4th prompt as a click (zero-size box) or its pseudo box."""
    boxes, is_point = case['boxes'].clone(), torch.zeros(2, 4, dtype=torch.bool)
    if click_as_point:
        centre = boxes[:, 3, :2] + 3
        boxes[:, 3] = torch.cat([centre, centre], dim=-1)
        is_point[:, 3] = True
    return boxes, is_point


@pytest.mark.parametrize('click_as_point', [False, True])
def test_encoding_matches_reference(prompt_case, reference_case_prompt_encoder, click_as_point):
    boxes, is_point = case_prompts(prompt_case, click_as_point)
    queries = reference_case_prompt_encoder(boxes, is_point, prompt_case['img_shapes'])
    for key in ('box_logits', 'position_encoding', 'query_embed', 'query_feat'):
        torch.testing.assert_close(queries[key], prompt_case[key], atol=1e-6, rtol=1e-6)
    assert torch.equal(queries['self_attn_mask'], prompt_case['self_attn_mask'])


def test_prompt_forward_and_masks_match_reference(prompt_case, reference_case_head,
                                                  reference_case_prompt_encoder,
                                                  reference_head_case):
    head = reference_case_head
    boxes, is_point = case_prompts(prompt_case, click_as_point=True)
    queries = reference_case_prompt_encoder(boxes, is_point, prompt_case['img_shapes'])
    captured = []
    hooks = [layer.register_forward_pre_hook(
        lambda module, args, kwargs: captured.append(kwargs['cross_attn_mask']),
        with_kwargs=True) for layer in head.transformer_decoder.layers]
    with torch.no_grad():
        output = head(reference_head_case['image_feats'], queries=queries)
        predicted = output.last.upsampled(prompt_case['batch_input_shape'])
    for hook in hooks:
        hook.remove()
    mask_preds = [p.mask_logits for p in output.predictions]
    for ours, expected in zip(captured, prompt_case['cross_attn_masks']):
        assert torch.equal(ours[:, 0], expected)
    cls_preds = [torch.cat([p.class_logits, p.objectness], -1) for p in output.predictions]
    torch.testing.assert_close(torch.stack(cls_preds), prompt_case['cls_pred'],
                               atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(torch.stack([mask_preds[0], mask_preds[-1]]),
                               prompt_case['mask_pred'], atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(predicted.class_logits, prompt_case['predict_mask_cls'],
                               atol=2e-3, rtol=1e-4)
    # The reference's interactive predict: crop to img_shape, resize to ori_shape, sigmoid > 0.5.
    for index, expected in enumerate(prompt_case['sam_masks']):
        masks = restore_mask_logits(predicted.mask_logits[index], prompt_case['img_shapes'][index],
                                    prompt_case['ori_shapes'][index]) > 0
        assert masks.shape == expected.shape
        assert (masks != expected).sum() <= 5


def test_self_attention_mask_is_block_diagonal():
    mask = prompt_self_attention_mask(3, tokens_per_prompt=2)
    expected = ~torch.block_diag(*[torch.ones(2, 2, dtype=torch.bool)] * 3)
    assert torch.equal(mask, expected)
    with pytest.raises(ValueError, match='at least one prompt'):
        prompt_self_attention_mask(0)


def test_prompts_are_decoded_independently(prompt_case, reference_case_head,
                                           reference_case_prompt_encoder, reference_head_case):
    head, feats = reference_case_head, reference_head_case['image_feats']
    encoder = reference_case_prompt_encoder
    boxes, is_point = case_prompts(prompt_case, click_as_point=True)
    moved = boxes.clone()
    moved[:, 1] = torch.tensor([5.0, 5.0, 60.0, 40.0])
    with torch.no_grad():
        first = head(feats, queries=encoder(boxes, is_point, prompt_case['img_shapes']))
        second = head(feats, queries=encoder(moved, is_point, prompt_case['img_shapes']))

    def tensors(output):
        return [t for p in output.predictions for t in (p.class_logits, p.objectness,
                                                         p.mask_logits)]
    others = [0, 2, 3]
    for before, after in zip(tensors(first), tensors(second)):
        torch.testing.assert_close(after[:, others], before[:, others], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(first.last.mask_logits[:, 1], second.last.mask_logits[:, 1])


def test_point_and_box_encodings(reference_case_prompt_encoder):
    encoder = reference_case_prompt_encoder
    shapes = [(100, 200)]
    click = torch.tensor([[[50.0, 40.0, 50.0, 40.0]]])
    pseudo_box = torch.tensor([[[47.0, 37.0, 53.0, 43.0]]])
    as_click = encoder(click, torch.tensor([[True]]), shapes)
    as_box = encoder(pseudo_box, torch.tensor([[False]]), shapes)
    # A click is its 6x6 pseudo box, normalised by the image size as (cx, cy, w, h).
    torch.testing.assert_close(as_click['box_logits'].sigmoid(),
                               torch.tensor([[[0.25, 0.4, 0.03, 0.06]]]))
    torch.testing.assert_close(as_click['query_embed'], as_box['query_embed'])
    # Reference default: every prompt uses the "box" type embedding (index 0).
    assert torch.equal(as_click['query_feat'], as_box['query_feat'])
    typed = encoder_like(encoder, point_type_embedding=True)(click, torch.tensor([[True]]),
                                                             shapes)
    expected = encoder.pb_embedding.weight[1] + encoder.mask_tokens.weight[0]
    torch.testing.assert_close(typed['query_feat'][0, 0], expected)
    whole = encoder(torch.tensor([[[0.0, 0.0, 200.0, 100.0]]]), torch.tensor([[False]]), shapes)
    torch.testing.assert_close(whole['box_logits'].sigmoid(),
                               torch.tensor([[[0.5, 0.5, 1.0, 1.0]]]))
    assert not torch.allclose(whole['query_embed'], as_box['query_embed'])


def test_training_jitter_stays_within_the_reference_bound(reference_case_prompt_encoder):
    encoder = encoder_like(reference_case_prompt_encoder, noise_scale=0.4, noise_damping=0.01)
    boxes = torch.tensor([[[20.0, 10.0, 120.0, 60.0]]]).expand(1, 64, 4).contiguous()
    is_point = torch.zeros(1, 64, dtype=torch.bool)
    torch.manual_seed(0)
    jittered = encoder.train()(boxes, is_point, [(100, 200)])
    clean = encoder.normalised_boxes(boxes, is_point, [(100, 200)])
    offset = (jittered['box_logits'].sigmoid() - clean).abs()
    bound = 0.4 * 0.01 * torch.tensor([0.25, 0.25, 0.5, 0.5])  # (w/2, h/2, w, h)
    assert bool((offset <= bound + 1e-6).all()) and bool((offset > 0).any())
    frozen = encoder.eval()(boxes, is_point, [(100, 200)])
    torch.testing.assert_close(frozen['box_logits'].sigmoid(), clean)


def test_stacking_sample_prompts_pads_only_when_asked():
    samples = []
    for count in (2, 3):
        sample = SegDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.prompts = InstanceData(boxes=torch.arange(count * 4.0).view(count, 4),
                                      is_point=torch.tensor([True] * count))
        samples.append(sample)
    with pytest.raises(ValueError, match='same number of prompts'):
        stack_sample_prompts(samples)
    boxes, is_point, shapes, counts = stack_sample_prompts(samples, pad=True)
    assert boxes.shape == (2, 3, 4) and counts == [2, 3] and shapes == [(32, 32)] * 2
    assert torch.equal(boxes[0, 2], boxes[0, 1]) and bool(is_point.all())
    with pytest.raises(KeyError, match='no prompts'):
        stack_sample_prompts([SegDataSample(metainfo=dict(img_shape=(8, 8)))])


# ---------------------------------------------------------------- issue 14: frames, seeds, points
def test_padded_frame_click_encoding_agrees_with_the_memory_position_code():
    """A click at the centre of memory cell (i, j) of a padded sample is encoded at the same
    place as the decoder's sine code of that cell (frame='padded', codes at cell centres);
    the reference frame (the valid size) reads it elsewhere."""
    from seg.models.layers import SinePositionalEncoding, SinePositionalEncoding3D
    feats, stride = 16, 8
    img_shape, pad_shape = (40, 56), (64, 64)  # the sample is padded by its batch
    cells = (pad_shape[0] // stride, pad_shape[1] // stride)
    settings = dict(num_feats=feats, normalize=True, offset=-0.5)
    memory_code = SinePositionalEncoding3D(**settings)(torch.zeros(1, 1, *cells, dtype=bool))
    plane_code = SinePositionalEncoding(**settings)(torch.zeros(1, *cells, dtype=bool))
    # The decoder's code of an image = the (y, x) plane code + one constant time code.
    time_code = memory_code[0, 0] - plane_code[0]
    torch.testing.assert_close(time_code, time_code[:, :1, :1].expand_as(time_code))
    row, col = 3, 5
    x, y = col * stride + stride / 2, row * stride + stride / 2
    boxes = torch.tensor([[[x, y, x, y]]])
    is_point = torch.ones(1, 1, dtype=torch.bool)
    expected = plane_code[0, :, row, col]  # (y block, x block)

    def encoded(frame):
        encoder = PromptEncoder(feat_channels=8, position_feats=feats, frame=frame).eval()
        queries = encoder(boxes, is_point, [img_shape], pad_shapes=[pad_shape])
        return queries['position_encoding'][0, 0, :2 * feats]

    torch.testing.assert_close(encoded('padded'), expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(encoded('valid'), expected, atol=1e-2)
    with pytest.raises(ValueError, match='pad_shapes'):
        PromptEncoder(feat_channels=8, frame='padded')(boxes, is_point, [img_shape])


def test_content_seed_is_the_mask_feature_at_the_click():
    torch.manual_seed(0)
    encoder = PromptEncoder(feat_channels=8, content_seed='mask_features').eval()
    mask_features = torch.randn(1, 8, 16, 16)  # stride 4 of a 64 x 64 padded input
    # Pixel (9, 21) lies in feature cell (2, 5) at its centre: the sample is that feature.
    boxes = torch.tensor([[[9., 21., 9., 21.], [50., 3., 50., 3.]]])
    is_point = torch.ones(1, 2, dtype=torch.bool)
    queries = encoder(boxes, is_point, [(60, 60)], pad_shapes=[(64, 64)],
                      mask_features=mask_features)
    base = encoder.pb_embedding.weight[0] + encoder.mask_tokens.weight[0]
    sampled = queries['query_feat'][0, 0] - base
    expected = torch.nn.functional.interpolate(mask_features, size=(64, 64), mode='bilinear',
                                               align_corners=False)[0, :, 21, 9]
    torch.testing.assert_close(sampled, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(queries['query_feat'][0, 0], queries['query_feat'][0, 1])
    with pytest.raises(ValueError, match='mask_features'):
        encoder(boxes, is_point, [(60, 60)], pad_shapes=[(64, 64)])


def test_multi_point_prompts_are_token_groups_that_see_only_themselves():
    torch.manual_seed(0)
    encoder = PromptEncoder(feat_channels=8, multi_point=True).eval()
    boxes = torch.tensor([[[10., 10., 10., 10.], [2., 2., 30., 30.]]])
    is_point = torch.tensor([[True, False]])
    points = torch.tensor([[[[12., 14.], [40., 40.]], [[5., 5.], [0., 0.]]]])
    labels = torch.tensor([[[1, 0], [0, -1]]])  # prompt 1's second slot is padding
    queries = encoder(boxes, is_point, [(48, 48)], points=points, point_labels=labels)
    assert queries['tokens_per_prompt'] == 3
    assert queries['query_feat'].shape == (1, 6, 8)
    mask = queries['self_attn_mask']
    assert mask.shape == (1, 6, 6)
    assert not mask[0, :3, :3].any()  # prompt 0's tokens see each other
    assert mask[0, :3, 3:].all() and mask[0, 3:, :3].all()  # and no other prompt
    assert mask[0, 3:5, 5].all() and not mask[0, 5, 5]  # padding: seen by none but itself
    # Positive and negative clicks differ by their label embedding only.
    feat = queries['query_feat'][0]
    label = encoder.point_label_embedding.weight
    torch.testing.assert_close(feat[1] - feat[2], label[1] - label[0])
    # The first token is the prompt's box / first click: its encoding ignores the extras.
    single = encoder(boxes, is_point, [(48, 48)])
    torch.testing.assert_close(single['query_embed'][0], queries['query_embed'][0, ::3])
    with pytest.raises(ValueError, match='multi_point=True'):
        PromptEncoder(feat_channels=8)(boxes, is_point, [(48, 48)], points=points,
                                       point_labels=labels)


def test_prompt_encoder_defaults_are_the_reference_settings():
    encoder = PromptEncoder()
    assert (encoder.frame, encoder.content_seed, encoder.first_layer_mask,
            encoder.multi_point) == ('valid', None, True, False)
    with pytest.raises(ValueError, match='frame'):
        PromptEncoder(frame='image')
    with pytest.raises(ValueError, match='content_seed'):
        PromptEncoder(content_seed='pixels')
    assert encoder.corrective_clicks == 0
    with pytest.raises(ValueError, match='multi_point=True'):
        PromptEncoder(corrective_clicks=0.5)


def test_locality_pulls_each_token_to_its_anchors():
    torch.manual_seed(0)
    encoder = PromptEncoder(feat_channels=8, content_seed='mask_features', multi_point=True,
                            locality=True).eval()
    boxes = torch.tensor([[[6., 6., 6., 6.], [16., 0., 32., 16.]]])  # a click, a box
    is_point = torch.tensor([[True, False]])
    points = torch.tensor([[[[25., 25.], [6., 25.]], [[0., 0.], [0., 0.]]]])
    labels = torch.tensor([[[1, 0], [-1, -1]]])
    queries = encoder(boxes, is_point, [(32, 32)], pad_shapes=[(32, 32)],
                      mask_features=torch.zeros(1, 8, 8, 8), points=points,
                      point_labels=labels)
    bias = queries['mask_logit_bias'](torch.zeros(1, 6, 8))  # beta = 10 at the start
    assert bias.shape == (1, 6, 8, 8)
    assert torch.all(bias <= 0)
    # Prompt 0, first token: no penalty at its click (6, 6) -> cell (1, 1), nor at its
    # positive extra click (25, 25) -> cell (6, 6); the negative click (6, 25) is no anchor.
    first = bias[0, 0]
    assert first[1, 1] > -0.05 and first[6, 6] > -0.05 and first[6, 1] < first[6, 6] - 0.5
    # The extra tokens keep to their own click only.
    assert bias[0, 2, 6, 1] > -0.05 and bias[0, 2, 1, 1] < -0.5
    # A box: nothing inside (cells with centres in x 16-32, y 0-16), a penalty outside.
    assert torch.all(bias[0, 3, :4, 4:] == 0) and bias[0, 3, 7, 0] < -1
    # The negative click pushes out what is nearer to it than to every positive anchor.
    no_negative = encoder(
        boxes, is_point, [(32, 32)], pad_shapes=[(32, 32)],
        mask_features=torch.zeros(1, 8, 8, 8), points=points,
        point_labels=torch.tensor([[[1, -1], [-1, -1]]]))
    plain = no_negative['mask_logit_bias'](torch.zeros(1, 6, 8))[0, 0]
    assert first[6, 1] < plain[6, 1] - 0.5  # at the negative click
    torch.testing.assert_close(first[1, 1], plain[1, 1])  # at the positive click: unchanged
    with pytest.raises(ValueError, match='locality'):
        PromptEncoder(locality=True)
