"""The per-image data sample that flows from datasets through the model to the metrics."""
from mmengine.structures import BaseDataElement, InstanceData, PixelData


class SegDataSample(BaseDataElement):
    """Annotations and predictions of one image.

    Data fields (all optional):
        gt_instances: ``InstanceData`` with ``labels`` (N,) int64 and ``masks`` (N, H, W) bool
            tensor of the *thing* instances (crowd regions excluded).
        gt_sem_seg: ``PixelData`` with ``sem_seg`` (1, H, W) int64: contiguous class per pixel
            (things and stuff), ``VOID_LABEL`` where unlabelled or crowd.
        pred_panoptic_seg: ``PixelData`` with ``sem_seg`` (1, H, W) int32 encoded as
            ``label + instance_id * INSTANCE_OFFSET``; unassigned pixels are ``num_classes``.
        pred_instances: ``InstanceData`` with ``masks`` (n, H, W) bool, ``labels``, ``scores``,
            ``bboxes`` (n, 4) x1, y1, x2, y2.
        pred_sem_seg: ``PixelData`` with ``sem_seg`` (1, H, W) int64.

    Metainfo keys set by the pipeline: ``img_id``, ``img_path``, ``ori_shape``, ``img_shape``,
    ``scale_factor``, ``flip``, ``flip_direction``; for panoptic data ``seg_map_path`` and
    ``segments_info`` (the json's segment list); the data preprocessor adds
    ``batch_input_shape`` and ``pad_shape``.
    """

    def _typed_property(name, kind):  # noqa: N805 - helper used only while building the class
        private = '_' + name

        def getter(self):
            return getattr(self, private)

        def setter(self, value):
            self.set_field(value, private, dtype=kind)

        def deleter(self):
            delattr(self, private)

        return property(getter, setter, deleter)

    gt_instances = _typed_property('gt_instances', InstanceData)
    gt_sem_seg = _typed_property('gt_sem_seg', PixelData)
    pred_instances = _typed_property('pred_instances', InstanceData)
    pred_panoptic_seg = _typed_property('pred_panoptic_seg', PixelData)
    pred_sem_seg = _typed_property('pred_sem_seg', PixelData)
    del _typed_property


SampleList = list
