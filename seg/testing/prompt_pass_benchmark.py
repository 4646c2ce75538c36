"""Segmentation and location prompts of one image: one combined decoder pass
(``OMGSegmentor.predict_image_and_prompts``) against two separate passes (``predict_image``
then ``predict_prompts``), both on cached image features as ``Predictor`` has them. Calls are
interleaved (a, b, a, b, ...) so a noisy machine slows both alike."""
import statistics
import time
from typing import Callable, Dict, Sequence

import torch
from mmengine.structures import InstanceData

from seg.structures import SegDataSample


def _clicks(count: int, height: int, width: int, seed: int = 0) -> InstanceData:
    generator = torch.Generator().manual_seed(seed)
    xs = torch.randint(0, width, (count,), generator=generator).float()
    ys = torch.randint(0, height, (count,), generator=generator).float()
    return InstanceData(boxes=torch.stack([xs, ys, xs, ys], dim=1),
                        is_point=torch.ones(count, dtype=torch.bool))


@torch.no_grad()
def benchmark_prompt_pass(model, size: Sequence[int], num_prompts: int, runs: int,
                          warmup: int, device: torch.device,
                          synchronize: Callable[[], None] = lambda: None) -> Dict[str, object]:
    """Median seconds of the combined and the separate passes for ``num_prompts`` random
    clicks on a random image of ``size``, and their ratio."""
    if model.prompt_encoder is None:
        raise ValueError('--what prompts needs a config whose model has a prompt_encoder')
    model.eval()
    height, width = (int(v) for v in size)
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                         scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
    features = model.image_features(data['inputs'].to(device))
    prompts = _clicks(num_prompts, height, width).to(device)

    def samples():
        fresh = data['data_samples'][0].clone()
        fresh.prompts = prompts.clone()
        return [fresh]

    calls = dict(
        one_pass=lambda: model.predict_image_and_prompts(features, samples()),
        two_passes=lambda: (model.predict_image(features, samples()),
                            model.predict_prompts(features, samples())))
    times = {name: [] for name in calls}
    for index in range(warmup + runs):
        for name, call in calls.items():
            synchronize()
            start = time.perf_counter()
            call()
            synchronize()
            if index >= warmup:
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return dict(num_prompts=num_prompts, one_pass_s=medians['one_pass'],
                two_passes_s=medians['two_passes'],
                one_pass_over_two=medians['one_pass'] / medians['two_passes'])
