"""Tube splitting, MinVIS linking and online inference (bounded memory on a 200-frame video)."""
from types import SimpleNamespace

import pytest
import torch

from seg.models import build_segmentor
from seg.models.heads import DecoderOutput, QueryPredictions
from seg.models.postprocess import QueryPostprocessor
from seg.models.video import VideoInference, VideoInferenceConfig, match_embeddings, video_split
from seg.structures import SegDataSample
from seg.testing.profiling import peak_tensor_memory


@pytest.mark.parametrize('num_frames, size, overlap, expected', [
    (12, 5, 0, [(0, 5), (5, 10), (10, 12)]),   # short by 3 with 3 tubes: last tube shrinks
    (13, 5, 0, [(0, 5), (5, 9), (9, 13)]),     # short by 2: the last two give up one frame
    (10, 4, 1, [(0, 4), (3, 7), (6, 10)]),
    (3, 5, 0, [(0, 3)]),
])
def test_video_split_follows_the_reference(num_frames, size, overlap, expected):
    assert video_split(num_frames, size, overlap) == expected


def test_config_picks_tube_length_by_video_length_and_rejects_unknown_keys():
    cfg = VideoInferenceConfig.build(dict(clip_size=5, clip_size_small=3, small_clip_thr=15))
    assert cfg.tubes(15) == [(0, 3), (3, 6), (6, 9), (9, 12), (12, 15)]
    assert cfg.tubes(16)[0] == (0, 5)
    assert VideoInferenceConfig.build(dict(whole_clip_thr=20)).tubes(20) == [(0, 20)]
    with pytest.raises(KeyError, match='clip_len'):
        VideoInferenceConfig.build(dict(clip_len=3))


def test_match_embeddings_recovers_a_permutation():
    generator = torch.Generator().manual_seed(0)
    reference = torch.randn(30, 16, generator=generator)
    shuffle = torch.randperm(30, generator=generator)
    current = reference[shuffle] + 0.05 * torch.randn(30, 16, generator=generator)
    permutation = match_embeddings(reference, current)
    assert torch.equal(shuffle[permutation], torch.arange(30))


class _PermutingDecoder:
    """Stand-in decoder whose queries come out in a different, known order in every tube."""

    def __init__(self, num_queries=6, num_things=2, num_stuff=1, seed=0):
        generator = torch.Generator().manual_seed(seed)
        self.embeddings = torch.randn(num_queries, 8, generator=generator)
        self.logits = torch.randn(num_queries, num_things + num_stuff + 2, generator=generator)
        self.logits[:, :num_things + num_stuff] *= 4
        self.generator = generator
        self.permutations = []
        self.text_classifier = SimpleNamespace(num_things=num_things)

    def __call__(self, feats, num_frames, inference=False):
        queries = self.embeddings.shape[0]
        permutation = torch.randperm(queries, generator=self.generator)
        self.permutations.append(permutation)
        # Query q owns the q-th band of columns in every frame of the tube.
        masks = torch.full((queries, num_frames, 8, queries * 2), -5.0)
        for q in range(queries):
            masks[q, :, :, 2 * q:2 * q + 2] = 5.0
        # Output query i is base query permutation[i].
        logits = self.logits[permutation][None]
        prediction = QueryPredictions(logits[..., :-1], logits[..., -1:],
                                      masks[permutation][None])
        return DecoderOutput([prediction], self.embeddings[permutation][None] + 0.01)


def test_online_inference_links_tubes_back_to_one_query_order():
    decoder = _PermutingDecoder()
    postprocessor = QueryPostprocessor(test_cfg=dict(object_mask_thr=0.0, iou_thr=0.0,
                                                     instance_on=True))
    frames = torch.zeros(7, 3, 8, 12)
    meta = dict(img_shape=(8, 12), ori_shape=(8, 12), batch_input_shape=(8, 12))
    samples = [SegDataSample(metainfo=meta) for _ in range(7)]
    panoptic = {}
    inference = VideoInference(lambda clip: [clip], decoder, postprocessor,
                               dict(clip_size=3, clip_size_small=3))
    summary = inference.run(frames, samples,
                            lambda t, out: panoptic.__setitem__(t, out['panoptic']))
    assert len(decoder.permutations) == 3  # tubes 0-2, 3-4, 5-6 (near-equal split)
    # Linked to the first tube's order, the tubes' logits average to the queries' own ones.
    first_order = decoder.permutations[0]
    torch.testing.assert_close(summary['mask_cls'], decoder.logits[first_order, :-1])
    torch.testing.assert_close(summary['objectness'], decoder.logits[first_order, -1:])
    assert sorted(panoptic) == list(range(7))
    for t in range(1, 7):
        assert torch.equal(panoptic[t], panoptic[0])


def _frames(start, stop, size=32):
    """Deterministic frames of a synthetic video, generated on demand."""
    clip = []
    for t in range(start, stop):
        generator = torch.Generator().manual_seed(t)
        clip.append(torch.randn(3, size, size, generator=generator))
    return torch.stack(clip)


def test_online_inference_memory_does_not_grow_with_video_length(tiny_cfg, single_thread):
    torch.manual_seed(0)
    model = build_segmentor(tiny_cfg).eval()
    meta = dict(img_shape=(32, 32), ori_shape=(32, 32), batch_input_shape=(32, 32))
    inference = VideoInference(model.extract_feat, model.panoptic_head, model.postprocessor,
                               dict(clip_size=5, max_cached_frames=0))
    peaks, frames_seen = {}, {}
    for num_frames in (50, 200):
        samples = [SegDataSample(metainfo=meta) for _ in range(num_frames)]
        counter = []
        _, peaks[num_frames] = peak_tensor_memory(
            lambda: inference.run(_frames, samples, lambda t, out: counter.append(t)))
        frames_seen[num_frames] = len(counter)
    assert frames_seen == {50: 50, 200: 200}
    assert peaks[50] > 0
    assert peaks[200] <= peaks[50] * 1.05 + 64 * 1024, peaks
