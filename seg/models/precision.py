"""bf16 inference.

``torch.autocast(device, dtype=torch.bfloat16)`` alone runs the matrix products in bf16 but
keeps every float32 weight and casts it (and the activations between float32 element-wise ops)
at each call; for the ConvNeXt-L tower, 200M weights and a float32 residual stream, that gives
1.5x instead of 2x on a CPU with AVX512-BF16. The recipe is therefore:

    model = prepare_bf16_inference(model)      # backbone weights -> bfloat16, once
    with torch.no_grad(), bf16_autocast(device):
        results = model.predict(inputs, data_samples)

* the CLIP backbone (frozen) runs entirely in bf16 and returns float32 maps;
* the pixel decoder and the mask decoder run under autocast: linear / conv / attention in bf16,
  the deformable sampling (``grid_sample``) in float32 (autocast's rule on CPU);
* float32 where accuracy needs it: the CLIP cosine of the text classifier (logits scaled by
  ~100), the open-vocabulary fusion's softmaxes and all post-processing (softmax / sigmoid
  products, sums and resizes) cast their inputs to float32 with autocast off.

The cast is permanent (casting back to float32 does not restore the dropped bits); keep a
float32 copy to go back. Tolerances: ``tests/models/test_mixed_precision.py``.
"""
import torch
import torch.nn as nn


def prepare_bf16_inference(model: nn.Module) -> nn.Module:
    """Cast ``model.backbone``'s weights to bfloat16 (in place) and return the model; the rest
    of the model stays float32 and runs under :func:`bf16_autocast`."""
    model.backbone.to(torch.bfloat16)
    return model


def bf16_autocast(device) -> torch.autocast:
    """``torch.autocast`` to bfloat16 on ``device`` (a device or its type)."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
