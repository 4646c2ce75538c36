"""Export the image path of an ``OMGSegmentor`` (``torch.export`` / ONNX) and check the
exported program against eager PyTorch. The command line is ``tools/export.py``; the notes
(what exports, what does not) are in ``docs/EXPORT.md``."""
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from .exportable import INPUT_NAME, OUTPUT_NAMES, ExportableImageModel

FORMATS = ('onnx', 'torch-export')
# ONNX GridSample (deformable attention) needs opset >= 16; 18 is the dynamo exporter's floor.
ONNX_OPSET = 18
# Largest padded side the dynamic program accepts (multiples of the size divisor up to this).
MAX_SIDE = 4096


@dataclass(frozen=True)
class Tolerance:
    """An output passes when max |exported - eager| <= atol + rtol * max |eager|."""
    atol: float
    rtol: float

    def allowed(self, reference: np.ndarray) -> float:
        scale = float(np.abs(reference).max()) if reference.size else 0.0
        return self.atol + self.rtol * scale


# torch.export runs the same aten kernels as eager (differences come only from decompositions);
# onnxruntime has its own kernels (convolutions, GridSample, attention matmuls) so float32
# rounding differs; 1e-4 relative to the output's largest magnitude is far below anything that
# changes a mask or a class decision, and far above the measured differences (docs/EXPORT.md).
TOLERANCES = {'torch-export': Tolerance(atol=1e-5, rtol=1e-5),
              'onnx': Tolerance(atol=1e-4, rtol=1e-4)}


def size_divisor(model) -> int:
    """Input sides must be multiples of this: the data preprocessor's ``pad_size_divisor``
    rounded up to a multiple of the backbone's stride 32."""
    divisor = int(getattr(model.data_preprocessor, 'pad_size_divisor', 32) or 32)
    return int(np.lcm(divisor, 32))


def check_size(size: Sequence[int], divisor: int) -> Tuple[int, int]:
    height, width = (int(side) for side in size)
    if height < 2 * divisor or width < 2 * divisor or height % divisor or width % divisor:
        raise ValueError(f'--size {height} {width}: both sides must be multiples of {divisor} '
                         f'(the padded input the data preprocessor makes) and at least '
                         f'{2 * divisor}')
    if max(height, width) > MAX_SIDE:
        raise ValueError(f'--size {height} {width}: sides above {MAX_SIDE} are not supported')
    return height, width


def dynamic_shapes(divisor: int) -> dict:
    """Height and width: any multiple of ``divisor`` from 2 x divisor to ``MAX_SIDE``."""
    steps = dict(min=2, max=MAX_SIDE // divisor)
    height = torch.export.Dim('height_steps', **steps)
    width = torch.export.Dim('width_steps', **steps)
    return {INPUT_NAME: {2: divisor * height, 3: divisor * width}}


def export_program(module: ExportableImageModel, size: Sequence[int], divisor: int,
                   dynamic: bool = True) -> torch.export.ExportedProgram:
    """``torch.export`` of the wrapper (non-strict) at an example input of ``size``."""
    example = torch.zeros(1, 3, *size)
    with torch.no_grad():
        return torch.export.export(module, (example,), strict=False,
                                   dynamic_shapes=dynamic_shapes(divisor) if dynamic else None)


def to_onnx(program: torch.export.ExportedProgram, path: Path, opset: int = ONNX_OPSET):
    """Convert an exported program to ONNX (``torch.onnx`` dynamo exporter) and save it."""
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        raise ImportError('ONNX export needs onnx and onnxscript: pip install "omgseg[export]" '
                          '(or pip install onnx onnxscript onnxruntime)') from None
    onnx_program = torch.onnx.export(program, (), input_names=[INPUT_NAME],
                                     output_names=list(OUTPUT_NAMES), opset_version=opset,
                                     dynamo=True)
    onnx_program.save(str(path))
    return onnx_program


def check_sizes(size: Sequence[int], divisor: int) -> List[Tuple[int, int]]:
    """The sizes ``--check`` runs: the export size and another one (both sides changed)."""
    height, width = size
    other_width = width - divisor if width >= 3 * divisor else width + divisor
    return [(height, width), (height + 2 * divisor, other_width)]


def eager_outputs(module: ExportableImageModel, inputs: torch.Tensor) -> List[np.ndarray]:
    with torch.no_grad():
        return [output.numpy() for output in module(inputs)]


class ProgramRunner:
    """Runs an exported file on numpy inputs: ``runner(array) -> list of arrays``."""

    def __init__(self, fmt: str, path: Path) -> None:
        if fmt not in FORMATS:
            raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')
        self.fmt = fmt
        if fmt == 'onnx':
            try:
                import onnxruntime
            except ImportError:
                raise ImportError('--check of an ONNX file needs onnxruntime: pip install '
                                  'onnxruntime') from None
            self.session = onnxruntime.InferenceSession(
                str(path), providers=['CPUExecutionProvider'])
        else:
            self.program = torch.export.load(str(path)).module()

    def __call__(self, inputs: np.ndarray) -> List[np.ndarray]:
        if self.fmt == 'onnx':
            return list(self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: inputs}))
        with torch.no_grad():
            return [output.numpy() for output in self.program(torch.from_numpy(inputs))]


def compare(module: ExportableImageModel, runner, sizes: Sequence[Tuple[int, int]],
            tolerance: Tolerance, seed: int = 0) -> List[Dict[str, object]]:
    """Exported vs eager outputs on random (normalised-image-like) inputs of ``sizes``: one
    row per size and output with the max difference, the allowed one and ``ok``."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for size in sizes:
        inputs = torch.randn(1, 3, *size, generator=generator)
        expected = eager_outputs(module, inputs)
        actual = runner(inputs.numpy())
        for name, eager, exported in zip(OUTPUT_NAMES, expected, actual):
            if tuple(exported.shape) != tuple(eager.shape):
                rows.append(dict(size=tuple(size), output=name, max_diff=float('inf'),
                                 allowed=0.0, ok=False,
                                 note=f'shape {tuple(exported.shape)} != {eager.shape}'))
                continue
            diff = float(np.abs(exported.astype(np.float64) - eager).max()) if eager.size else 0.
            allowed = tolerance.allowed(eager)
            rows.append(dict(size=tuple(size), output=name, shape=tuple(eager.shape),
                             max_diff=diff, allowed=allowed, ok=diff <= allowed))
    return rows


def metadata(module: ExportableImageModel, fmt: str, size: Sequence[int], divisor: int,
             dynamic: bool, **extra) -> dict:
    """What a deployment needs next to the exported file: preprocessing, vocabulary,
    post-processing settings (``seg.deploy.postprocess_numpy.postprocess(test_cfg=...)``)."""
    model = module.model
    preprocessor = model.data_preprocessor
    cfg = model.postprocessor.cfg
    return dict(
        format=fmt,
        input=dict(name=INPUT_NAME, shape=[1, 3, 'H', 'W'] if dynamic else [1, 3, *size],
                   example_size=list(size), size_divisor=divisor, dynamic=dynamic,
                   max_side=MAX_SIDE,
                   mean=[float(v) for v in preprocessor.mean.flatten()],
                   std=[float(v) for v in preprocessor.std.flatten()],
                   bgr_to_rgb=bool(preprocessor.bgr_to_rgb),
                   pad_value=float(preprocessor.pad_value)),
        outputs={name: shape for name, shape in zip(
            OUTPUT_NAMES, (['Q', 'K+1'], ['Q', 1], ['Q', 'H/4', 'W/4']))},
        class_names=list(module.class_names),
        num_things=int(module.num_things),
        test_cfg=dict(panoptic_on=cfg.panoptic_on, instance_on=cfg.instance_on,
                      semantic_on=cfg.semantic_on, max_per_image=cfg.max_per_image,
                      iou_thr=cfg.iou_thr, filter_low_score=cfg.filter_low_score,
                      object_mask_thr=cfg.object_mask_thr),
        torch_version=torch.__version__,
        **extra)


def export(model, fmt: str, size: Sequence[int], out: Path, dynamic: bool = True,
           opset: int = ONNX_OPSET, log=print) -> Dict[str, object]:
    """Export ``model`` (eval mode, vocabulary installed) to ``out`` and write
    ``out + '.json'`` (metadata). Returns a summary (times, file size, metadata)."""
    if fmt not in FORMATS:
        raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')
    model.eval()
    if getattr(model, 'open_vocab', None) is not None:
        warnings.warn('the model fuses its class logits with CLIP\'s (open_vocab): the exported '
                      'class_logits are the decoder\'s alone, without that fusion '
                      '(docs/EXPORT.md); set model.open_vocab=None to silence this')
    module = ExportableImageModel(model).eval()
    divisor = size_divisor(model)
    size = check_size(size, divisor)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    program = export_program(module, size, divisor, dynamic=dynamic)
    seconds = dict(torch_export=time.perf_counter() - start)
    log(f'torch.export: {seconds["torch_export"]:.1f} s')
    if fmt == 'torch-export':
        torch.export.save(program, str(out))
    else:
        start = time.perf_counter()
        to_onnx(program, out, opset=opset)
        seconds['onnx'] = time.perf_counter() - start
        log(f'ONNX conversion: {seconds["onnx"]:.1f} s')
    info = metadata(module, fmt, size, divisor, dynamic,
                    onnx_opset=opset if fmt == 'onnx' else None)
    meta_path = out.with_name(out.name + '.json')
    meta_path.write_text(json.dumps(info, indent=2) + '\n')
    files = [out] + sorted(out.parent.glob(out.name + '.data'))  # ONNX external weights
    size_bytes = sum(path.stat().st_size for path in files if path.exists())
    return dict(module=module, divisor=divisor, size=size, seconds=seconds,
                bytes=size_bytes, metadata_path=meta_path, metadata=info)
