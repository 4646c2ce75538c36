"""Export of the image path (torch.export + ONNX) of the tiny model, compared with eager
PyTorch, and the numpy post-processing of onnxruntime outputs compared with model.predict.

The tiny model is exported once per module (torch.export with dynamic height / width, then
converted to ONNX from the exported program, as tools/export.py does).
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seg.deploy import export as exporting
from seg.deploy import postprocess_numpy as pnp
from seg.deploy.exportable import OUTPUT_NAMES, ExportableImageModel
from seg.models import build_segmentor
from seg.structures import SegDataSample
from ..conftest import tiny_model_cfg

onnxruntime = pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')

EXPORT_SIZE = (96, 128)
OTHER_SIZE = (160, 96)


@pytest.fixture(scope='module')
def tiny_model(toy_data_root, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('OMGSEG_CACHE', str(tmp_path_factory.mktemp('export_cache')))
        torch.manual_seed(0)
        return build_segmentor(tiny_model_cfg(toy_data_root)).eval()


@pytest.fixture(scope='module')
def exported(tiny_model, tmp_path_factory):
    module = ExportableImageModel(tiny_model).eval()
    divisor = exporting.size_divisor(tiny_model)
    program = exporting.export_program(module, EXPORT_SIZE, divisor)
    onnx_path = tmp_path_factory.mktemp('onnx') / 'tiny.onnx'
    exporting.to_onnx(program, onnx_path)
    return dict(module=module, program=program, onnx=onnx_path)


def _max_diffs(module, run, size, seed=0):
    inputs = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = [output.numpy() for output in module(inputs)]
    actual = run(inputs)
    assert [a.shape for a in actual] == [e.shape for e in expected]
    return expected, [float(np.abs(a - e).max()) for a, e in zip(actual, expected)]


def test_torch_export_is_dynamic_and_matches_eager(exported):
    program = exported['program'].module()

    def run(inputs):
        with torch.no_grad():
            return [output.numpy() for output in program(inputs)]

    for size in (EXPORT_SIZE, OTHER_SIZE):
        expected, diffs = _max_diffs(exported['module'], run, size)
        num_queries = exported['module'].model.panoptic_head.num_queries
        assert expected[2].shape == (num_queries, size[0] // 4, size[1] // 4)
        tolerance = exporting.TOLERANCES['torch-export']
        assert all(diff <= tolerance.allowed(e) for diff, e in zip(diffs, expected)), diffs


def test_onnx_is_dynamic_and_matches_eager(exported):
    session = onnxruntime.InferenceSession(str(exported['onnx']),
                                           providers=['CPUExecutionProvider'])
    assert [o.name for o in session.get_outputs()] == list(OUTPUT_NAMES)

    def run(inputs):
        return session.run(list(OUTPUT_NAMES), {'inputs': inputs.numpy()})

    tolerance = exporting.TOLERANCES['onnx']
    for size in (EXPORT_SIZE, OTHER_SIZE):
        expected, diffs = _max_diffs(exported['module'], run, size, seed=1)
        assert all(diff <= tolerance.allowed(e) for diff, e in zip(diffs, expected)), diffs


def test_compare_reports_a_program_that_differs(exported):
    """The --check comparison fails a runner whose outputs are off."""
    module = exported['module']

    def wrong(inputs):
        with torch.no_grad():
            outputs = [output.numpy() for output in module(torch.from_numpy(inputs))]
        outputs[2] = outputs[2] + 1e-2
        return outputs

    rows = exporting.compare(module, wrong, [EXPORT_SIZE], exporting.TOLERANCES['onnx'])
    assert [row['ok'] for row in rows] == [True, True, False]
    assert rows[2]['max_diff'] == pytest.approx(1e-2, rel=1e-3)


def _image_batch(model, image_size, ori_shape, seed=0):
    """One packed image as the data preprocessor makes it: normalised, padded."""
    rng = np.random.default_rng(seed)
    image = torch.from_numpy(rng.integers(0, 256, (3, *image_size), dtype=np.uint8))
    sample = SegDataSample(metainfo=dict(img_shape=tuple(image_size), ori_shape=ori_shape))
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]))
    return data['inputs'], data['data_samples']


def test_numpy_postprocess_of_onnx_outputs_equals_model_predict(exported, tiny_model):
    """Panoptic (and semantic / instance) results from onnxruntime outputs + numpy equal
    model.predict on the same image: the image is smaller than the padded input and its
    original size differs (both bilinear resizes of the rule are exercised)."""
    session = onnxruntime.InferenceSession(str(exported['onnx']),
                                           providers=['CPUExecutionProvider'])
    # The tiny model's rule (filter_low_score, object_mask_thr=0) with every query that owns
    # pixels surviving (iou_thr=0): random weights keep nothing at the paper's 0.8.
    test_cfg = dict(panoptic_on=True, instance_on=True, semantic_on=True, iou_thr=0.0)
    cfg = tiny_model.postprocessor.cfg
    numpy_cfg = dict(test_cfg, object_mask_thr=cfg.object_mask_thr,
                     filter_low_score=cfg.filter_low_score, max_per_image=cfg.max_per_image)
    num_things = tiny_model.vocabulary.num_things
    painted = 0
    for seed, (image_size, ori_shape) in enumerate([((90, 120), (135, 181)),
                                                    ((160, 96), (160, 96))]):
        inputs, samples = _image_batch(tiny_model, image_size, ori_shape, seed)
        with torch.no_grad(), tiny_model.inference_settings(test_cfg=test_cfg):
            expected = tiny_model.predict(inputs, samples)[0]
        class_logits, _, mask_logits = session.run(list(OUTPUT_NAMES),
                                                   {'inputs': inputs.numpy()})
        results = pnp.postprocess(class_logits, mask_logits, num_things, image_size,
                                  ori_shape, test_cfg=numpy_cfg)

        panoptic = expected.pred_panoptic_seg.sem_seg[0].numpy()
        assert results['panoptic'].shape == panoptic.shape == ori_shape
        assert results['panoptic'].dtype == np.int32
        np.testing.assert_array_equal(results['panoptic'], panoptic)
        painted += int((panoptic != tiny_model.num_classes).sum())
        np.testing.assert_array_equal(results['semantic'],
                                      expected.pred_sem_seg.sem_seg[0].numpy())
        instances, reference = results['instances'], expected.pred_instances
        np.testing.assert_array_equal(instances['labels'], reference.labels.numpy())
        np.testing.assert_array_equal(instances['masks'], reference.masks.numpy())
        np.testing.assert_array_equal(instances['bboxes'], reference.bboxes.numpy())
        np.testing.assert_allclose(instances['scores'], reference.scores.numpy(), rtol=1e-4,
                                   atol=1e-6)
    assert painted > 0, 'empty panoptic maps: the comparison would prove little'


@pytest.mark.parametrize('filter_low_score', [False, True])
def test_numpy_rules_equal_the_torch_rules(filter_low_score):
    from seg.models.postprocess import (instance_postprocess, panoptic_postprocess,
                                        semantic_postprocess)
    from seg.utils.constants import INSTANCE_OFFSET
    assert pnp.INSTANCE_OFFSET == INSTANCE_OFFSET
    rng = np.random.default_rng(3)
    class_logits = (rng.standard_normal((12, 6)) * 3).astype(np.float32)
    mask_logits = (rng.standard_normal((12, 40, 52)) * 4).astype(np.float32)
    mask_logits[3] = -20  # an empty mask
    cls_t, mask_t = torch.from_numpy(class_logits), torch.from_numpy(mask_logits)
    for thr in (0.0, 0.3):
        expected = panoptic_postprocess(cls_t, mask_t, 3, 2, object_mask_thr=thr, iou_thr=0.5,
                                        filter_low_score=filter_low_score).numpy()
        actual = pnp.panoptic_postprocess(class_logits, mask_logits, 3, object_mask_thr=thr,
                                          iou_thr=0.5, filter_low_score=filter_low_score)
        np.testing.assert_array_equal(actual, expected)
        assert len(np.unique(actual)) > 2
    np.testing.assert_array_equal(pnp.semantic_postprocess(class_logits, mask_logits),
                                  semantic_postprocess(cls_t, mask_t).numpy())
    reference = instance_postprocess(cls_t, mask_t, 3, max_per_image=15)
    actual = pnp.instance_postprocess(class_logits, mask_logits, 3, max_per_image=15)
    np.testing.assert_array_equal(actual['labels'], reference.labels.numpy())
    np.testing.assert_array_equal(actual['masks'], reference.masks.numpy())
    np.testing.assert_array_equal(actual['bboxes'], reference.bboxes.numpy())
    np.testing.assert_allclose(actual['scores'], reference.scores.numpy(), rtol=1e-5)


@pytest.mark.parametrize('shapes', [((32, 40), (128, 160)), ((90, 120), (135, 181)),
                                    ((128, 160), (100, 133)), ((7, 9), (13, 5))])
def test_resize_bilinear_matches_interpolate(shapes):
    import torch.nn.functional as F
    source, target = shapes
    maps = (np.random.default_rng(0).standard_normal((3, *source)) * 10).astype(np.float32)
    expected = F.interpolate(torch.from_numpy(maps)[None], size=target, mode='bilinear',
                             align_corners=False)[0].numpy()
    actual = pnp.resize_bilinear(maps, target)
    # Float rounding only (the kernel's operation order is not reproduced): a few ulps.
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5 * np.abs(maps).max())


def test_postprocess_numpy_imports_without_torch(tmp_path):
    """The module runs where torch is not installed (imports blocked in a fresh process)."""
    path = Path(pnp.__file__)
    script = (
        "import sys, importlib.util\n"
        "for name in ('torch', 'seg', 'mmengine'):\n"
        "    sys.modules[name] = None\n"
        f"spec = importlib.util.spec_from_file_location('pnp', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "import numpy as np\n"
        "out = module.postprocess(np.zeros((2, 3), np.float32), np.ones((2, 4, 4), np.float32),\n"
        "                         1, (16, 16), test_cfg=dict(object_mask_thr=0.0))\n"
        "print(out['panoptic'].shape)\n")
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '(16, 16)'


def test_postprocess_rejects_unknown_settings():
    with pytest.raises(KeyError, match='object_mask_threshold'):
        pnp.postprocess(np.zeros((2, 3), np.float32), np.zeros((2, 4, 4), np.float32), 1,
                        (16, 16), test_cfg=dict(object_mask_threshold=0.5))
    with pytest.raises(ValueError, match='img_shape'):
        pnp.restore_mask_logits(np.zeros((2, 8, 8), np.float32), (9, 8))


def test_export_rejects_a_size_off_the_divisor():
    with pytest.raises(ValueError, match='multiples of 32'):
        exporting.check_size((100, 128), 32)
