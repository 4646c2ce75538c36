"""Run the forward calls of a reference case (its README's "Forward calls"); compare every output.

The calls, with this code base's names:

1. buffers and data preprocessing (raw BGR images -> the case's normalised, padded batch);
2. ``extract_feat`` + ``OMGHead.forward`` with the semantic queries (every prediction, the
   cross-attention masks, decoder layer outputs, mask-pooling and class embeddings, pixel
   decoder outputs, positional encodings) and ``OMGHead.predict``;
3. the same with box / point prompt queries (``PromptEncoder``) and the interactive predict;
4. a clip: tube queries over T frames, then the segmentor's per-frame video results;
5. the segmentor's image post-processing (panoptic + instances; again with the extra iou_thr);
6. the open-vocabulary CLIP fusion (images, clip, segmentor predict, an emptied query mask).

Every key of every ``out_*.pth`` file must be compared or listed as informational; any other
key fails the run as "not compared".
"""
import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

import torch
from mmengine.structures import InstanceData

from seg.models.heads import DecoderOutput, QueryPredictions
from seg.models.postprocess.open_vocab import OpenVocabFusion, clip_mask_logits
from seg.structures import SegDataSample, TrackSegDataSample
from .case_checks import Check, CheckList, stacked
from .reference_case import ReferenceCase, build_case_model, case_logit_scale

OUTPUT_FILES = ('out_semantic.pth', 'out_prompt.pth', 'out_video.pth', 'out_postproc.pth',
                'out_openvoc.pth')
# Keys that describe a run rather than an output; checked against the config where possible.
INFORMATIONAL_KEYS = {
    'out_postproc.pth': {'test_cfg', 'extra_iou_thr_low.iou_thr'},
    'out_video.pth': {'extra_iou_thr_low.iou_thr'},
    'out_openvoc.pth': {'overlapping', 'alpha', 'beta'},
}


@dataclass
class Tolerances:
    features: float
    cls: float
    cls_video: float
    open_vocab: float
    pixels: float
    scores: float = 1e-3

    @classmethod
    def from_case(cls, case: ReferenceCase) -> 'Tolerances':
        tol = case.tolerances
        if tol.get('cross_attn_masks', 'identical') != 'identical':
            raise ValueError(f'case tolerance cross_attn_masks={tol["cross_attn_masks"]!r}: '
                             'only "identical" is supported')
        return cls(features=float(tol['mask_pred_and_features_atol']),
                   cls=float(tol['cls_pred_atol']),
                   cls_video=float(tol.get('cls_pred_atol_video', tol['cls_pred_atol'])),
                   open_vocab=float(tol.get('open_voc_cls_results_atol', tol['cls_pred_atol'])),
                   pixels=float(tol['postprocessed_max_pixel_mismatch_fraction']))


class CaseOutputs:
    """One ``out_*.pth`` file; remembers which (dotted) keys were compared."""

    def __init__(self, case: ReferenceCase, file_name: str) -> None:
        self.file_name = file_name
        self.data: Dict[str, Any] = case.load(file_name)
        self.used = set(INFORMATIONAL_KEYS.get(file_name, ()))

    def __contains__(self, key: str) -> bool:
        return self._lookup(key) is not None

    def _lookup(self, key: str) -> Any:
        value: Any = self.data
        for part in key.split('.'):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value

    def __getitem__(self, key: str) -> Any:
        value = self._lookup(key)
        if value is None:
            raise KeyError(f'{self.file_name} lacks {key!r}')
        self.used.add(key)
        return value

    def unused(self) -> List[str]:
        keys = []
        for key, value in self.data.items():
            if isinstance(value, dict):
                keys += [f'{key}.{sub}' for sub in value]
            else:
                keys.append(key)
        return [key for key in keys if key not in self.used and key.split('.')[0] not in
                self.used]


class HeadRecorder:
    """Forward hooks collecting the intermediates the case stores for one head forward."""

    def __init__(self, head) -> None:
        self.head = head
        self.values: Dict[str, list] = {}

    def _keep(self, name: str, value: Any) -> None:
        self.values.setdefault(name, []).append(value)

    @contextmanager
    def recording(self) -> Iterator['HeadRecorder']:
        head = self.head
        handles = [
            head.mask_pooling_proj.register_forward_hook(
                lambda m, a, out: self._keep('maskpool_embd', out.detach())),
            head.cls_proj.register_forward_hook(
                lambda m, a, out: self._keep('cls_embd', out.detach())),
            head.pixel_decoder.register_forward_hook(
                lambda m, a, out: self._keep('pixel_decoder', out)),
            head.decoder_positional_encoding.register_forward_hook(
                lambda m, a, out: self._keep('positional', out.detach())),
        ]
        for layer in head.transformer_decoder.layers:
            handles.append(layer.register_forward_pre_hook(
                lambda m, a, kw: self._keep('cross_attn_mask', kw['cross_attn_mask'].detach()),
                with_kwargs=True))
            handles.append(layer.register_forward_hook(
                lambda m, a, out: self._keep('layer_output', out.detach())))
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()


def _compare_head_forward(checks: CheckList, prefix: str, out: CaseOutputs,
                          outputs: DecoderOutput, recorder: HeadRecorder, cls_atol: float,
                          tol: Tolerances) -> None:
    # The reference packs the objectness logit as the last class column.
    cls_preds = [torch.cat([p.class_logits, p.objectness], dim=-1) for p in outputs.predictions]
    mask_preds = [p.mask_logits for p in outputs.predictions]
    query_feat = outputs.query_feat
    values = recorder.values
    for index, reference in enumerate(out['cross_attn_masks']):
        ours = values['cross_attn_mask'][index][:, 0]  # (B, 1, Q, K): shared by the heads
        checks.identical(f'{prefix}/cross_attn_masks[{index}]', ours, reference)
    checks.close(f'{prefix}/cls_pred', stacked(cls_preds), out['cls_pred'], cls_atol)
    checks.close(f'{prefix}/mask_pred', stacked(mask_preds), out['mask_pred'], tol.features)
    checks.close(f'{prefix}/query_feat_last', query_feat, out['query_feat_last'], tol.features)
    checks.close(f'{prefix}/decoder_layer_outputs', stacked(values['layer_output']),
                 out['decoder_layer_outputs'], tol.features)
    checks.close(f'{prefix}/maskpool_embd', stacked(values['maskpool_embd']),
                 out['maskpool_embd'], tol.features)
    checks.close(f'{prefix}/cls_embd', stacked(values['cls_embd']), out['cls_embd'],
                 tol.features)
    if 'pixel_decoder_mask_features' in out:
        mask_features, memories = values['pixel_decoder'][0]
        checks.close(f'{prefix}/pixel_decoder_mask_features', mask_features,
                     out['pixel_decoder_mask_features'], tol.features)
        for index, reference in enumerate(out['pixel_decoder_multi_scale_memorys']):
            checks.close(f'{prefix}/pixel_decoder_multi_scale_memorys[{index}]',
                         memories[index], reference, tol.features)
    if 'decoder_positional_encodings' in out:
        for index, reference in enumerate(out['decoder_positional_encodings']):
            checks.close(f'{prefix}/decoder_positional_encodings[{index}]',
                         values['positional'][index], reference, tol.features)


def _compare_head_predict(checks: CheckList, prefix: str, out: CaseOutputs,
                          predicted: QueryPredictions, cls_atol: float) -> None:
    checks.close(f'{prefix}/predict_mask_cls_results', predicted.class_logits,
                 out['predict_mask_cls_results'], cls_atol)
    checks.close(f'{prefix}/predict_iou_results', predicted.objectness,
                 out['predict_iou_results'], cls_atol)


def _head_predict(head, feats, batch_input_shape, **decoder_args) -> QueryPredictions:
    """The last prediction with masks at the padded input size (the reference's
    ``predict``)."""
    return head(feats, **decoder_args).last.upsampled(batch_input_shape)


def _image_samples(inputs: dict) -> List[SegDataSample]:
    return [SegDataSample(metainfo=dict(meta)) for meta in inputs['image_metas']]


def _instances_dict(instances: InstanceData) -> Dict[str, torch.Tensor]:
    fields = dict(scores=instances.scores, labels=instances.labels, bboxes=instances.bboxes,
                  masks=instances.masks)
    if 'instances_id' in instances:
        fields['instances_id'] = instances.instances_id
    return fields


def _check_images_postprocessing(checks: CheckList, prefix: str, samples, reference_maps,
                                 reference_instances, tol: Tolerances) -> None:
    for index, sample in enumerate(samples):
        if reference_maps is not None:
            checks.pixels(f'{prefix}panoptic_seg[{index}]', sample.pred_panoptic_seg.sem_seg,
                          reference_maps[index], tol.pixels)
        if reference_instances is not None:
            checks.instances(f'{prefix}instances[{index}]',
                             _instances_dict(sample.pred_instances),
                             reference_instances[index], tol.scores, tol.pixels)


class CaseRunner:
    """Runs every call of a case against a model built from its ``case.json``."""

    def __init__(self, case: ReferenceCase, model=None) -> None:
        self.case = case
        self.checks = CheckList()
        if model is None:
            model, report = build_case_model(case)
            unconverted = len(report.unknown) + len(report.missing) + len(report.shape_mismatch)
            self.checks.add(Check('state_dict/conversion', 'identical', unconverted, 0,
                                  unconverted == 0, f'{len(report.mapped)} tensors mapped, '
                                  f'{len(report.dropped)} dropped'))
        self.model = model.eval()
        described = case.model['head'].get('logit_scale')
        if described is not None and abs(case_logit_scale(case) - described) > 1e-7:
            self.checks.notes.append(
                f'logit_scale: case.json says {described}, the saved reference buffer '
                f'{case_logit_scale(case)}; the buffer (what the reference ran with) is used')
        self.tol = Tolerances.from_case(case)
        self.inputs = case.load('inputs.pth')
        self.outputs: Dict[str, CaseOutputs] = {}

    def output(self, file_name: str) -> Optional[CaseOutputs]:
        if file_name not in self.outputs:
            if not self.case.has(file_name):
                return None
            self.outputs[file_name] = CaseOutputs(self.case, file_name)
        return self.outputs[file_name]

    @torch.no_grad()
    def run(self) -> CheckList:
        self.check_buffers()
        self.check_preprocessing()
        feats = self.model.extract_feat(self.inputs['images'])
        self.run_semantic(feats)
        self.run_prompts(feats)
        video_feats = self.run_video()
        self.run_postprocessing()
        self.run_open_vocabulary(feats, video_feats)
        for out in self.outputs.values():
            for key in out.unused():
                self.checks.unavailable(f'{out.file_name}:{key}', 'saved by the reference but '
                                        'not compared by this tool')
        for path in sorted(self.case.root.glob('out_*.pth')):
            if path.name not in self.outputs:
                self.checks.unavailable(path.name, 'output file not compared by this tool')
        for name in OUTPUT_FILES:
            if not self.case.has(name):
                self.checks.notes.append(f'the case has no {name}: that path is not checked')
        return self.checks

    # ------------------------------------------------------------------ calls
    def check_buffers(self) -> None:
        if not self.case.has('nonpersistent_buffers.pth'):
            return
        buffers = self.case.load('nonpersistent_buffers.pth')
        classifier = self.model.panoptic_head.text_classifier
        preprocessor = self.model.data_preprocessor
        ours = dict(cls_embed=classifier.cls_embed, logit_scale=classifier.logit_scale,
                    data_preprocessor_mean=preprocessor.mean.reshape(1, -1, 1, 1),
                    data_preprocessor_std=preprocessor.std.reshape(1, -1, 1, 1))
        for key, reference in buffers.items():
            if key not in ours:
                self.checks.unavailable(f'buffers/{key}', 'unknown buffer')
                continue
            self.checks.close(f'buffers/{key}', ours[key], reference, 1e-6)

    def check_preprocessing(self) -> None:
        inputs = self.inputs
        samples = _image_samples(inputs)
        batch = self.model.data_preprocessor(
            dict(inputs=list(inputs['images_raw_bgr_uint8']), data_samples=samples))
        self.checks.close('inputs/images (our data preprocessor)', batch['inputs'],
                          inputs['images'], 1e-4)
        if 'video_raw_bgr_uint8' in inputs:
            frames = self.model.data_preprocessor(dict(inputs=list(inputs['video_raw_bgr_uint8'])))
            self.checks.close('inputs/video (our data preprocessor)', frames['inputs'],
                              inputs['video'][0], 1e-4)

    def run_semantic(self, feats: List[torch.Tensor]) -> None:
        out = self.output('out_semantic.pth')
        if out is None:
            return
        for index, reference in enumerate(out['backbone_feats']):
            self.checks.close(f'semantic/backbone_feats[{index}]', feats[index], reference,
                              self.tol.features)
        head = self.model.panoptic_head
        recorder = HeadRecorder(head)
        with recorder.recording():
            outputs = head(feats)
        _compare_head_forward(self.checks, 'semantic', out, outputs, recorder, self.tol.cls,
                              self.tol)
        predicted = _head_predict(head, feats,
                                  tuple(self.inputs['image_metas'][0]['batch_input_shape']))
        _compare_head_predict(self.checks, 'semantic', out, predicted, self.tol.cls)

    def run_prompts(self, feats: List[torch.Tensor]) -> None:
        out = self.output('out_prompt.pth')
        if out is None:
            return
        prompts = self.inputs['prompts']
        if bool((prompts['bp'] != 0).any()):
            self.checks.unavailable('prompt', 'prompts with bp=1 (point type embedding) are '
                                    'not reproduced by this tool')
            return
        model, head = self.model, self.model.panoptic_head
        boxes = prompts['point_coords'].float()
        is_point = torch.zeros(boxes.shape[:2], dtype=torch.bool)
        img_shapes = [tuple(meta['img_shape']) for meta in self.inputs['image_metas']]
        queries = model.prompt_encoder(boxes, is_point, img_shapes)
        for ours, key, exact in (('query_feat', 'prompt_query_feat', False),
                                 ('box_logits', 'prompt_query_bbox_logit', False),
                                 ('position_encoding', 'prompt_query_pos_encoding', False),
                                 ('query_embed', 'prompt_query_embed', False),
                                 ('self_attn_mask', 'prompt_self_attn_mask', True)):
            if exact:
                self.checks.identical(f'prompt/{key}', queries[ours], out[key])
            else:
                self.checks.close(f'prompt/{key}', queries[ours], out[key], self.tol.features)
        recorder = HeadRecorder(head)
        with recorder.recording():
            outputs = head(feats, queries=queries)
        _compare_head_forward(self.checks, 'prompt', out, outputs, recorder, self.tol.cls,
                              self.tol)
        batch_input_shape = tuple(self.inputs['image_metas'][0]['batch_input_shape'])
        _compare_head_predict(self.checks, 'prompt', out,
                              _head_predict(head, feats, batch_input_shape, queries=queries),
                              self.tol.cls)
        samples = _image_samples(self.inputs)
        for sample, sample_boxes in zip(samples, boxes):
            sample.prompts = InstanceData(boxes=sample_boxes,
                                          is_point=torch.zeros(len(sample_boxes), dtype=bool))
        model.predict(self.inputs['images'], samples)
        for index, (sample, reference) in enumerate(zip(samples,
                                                        out['model_predict_sam_masks'])):
            self.checks.pixels(f'prompt/model_predict_sam_masks[{index}]',
                               sample.pred_prompts.masks, reference, self.tol.pixels)

    def _track_samples(self) -> List[TrackSegDataSample]:
        return [TrackSegDataSample(video_data_samples=[SegDataSample(metainfo=dict(meta))
                                                       for meta in clip])
                for clip in self.inputs['video_metas']]

    def run_video(self) -> Optional[List[torch.Tensor]]:
        out = self.output('out_video.pth')
        if out is None or 'video' not in self.inputs:
            return None
        video = self.inputs['video']
        frames = video.shape[1]
        model, head = self.model, self.model.panoptic_head
        feats = model.extract_feat(video.flatten(0, 1))
        recorder = HeadRecorder(head)
        with recorder.recording():
            outputs = head(feats, num_frames=frames)
        _compare_head_forward(self.checks, 'video', out, outputs, recorder,
                              self.tol.cls_video, self.tol)
        batch_input_shape = tuple(self.inputs['video_metas'][0][0]['batch_input_shape'])
        _compare_head_predict(self.checks, 'video', out,
                              _head_predict(head, feats, batch_input_shape, num_frames=frames),
                              self.tol.cls_video)
        self._video_predict(out, '', video)
        if 'extra_iou_thr_low' in out:
            with self._iou_thr(out['extra_iou_thr_low.iou_thr']):
                self._video_predict(out, 'extra_iou_thr_low.', video)
        return feats

    def _video_predict(self, out: CaseOutputs, prefix: str, video: torch.Tensor) -> None:
        samples = self.model.predict(video, self._track_samples())
        maps = out[prefix + 'track_panoptic_seg']
        instances = out[prefix + 'track_instances']
        for clip_index, clip in enumerate(samples):
            track_ids: Dict[int, int] = {}
            for frame_index, frame in enumerate(clip):
                name = f'video/{prefix}track_{{}}[{clip_index}][{frame_index}]'
                # Our video ids are stable by design (the reference renumbers the survivors of
                # each frame): compare segments up to the numbering of instance ids.
                self.checks.pixels(name.format('panoptic_seg'), frame.pred_panoptic_seg.sem_seg,
                                   maps[clip_index][frame_index], self.tol.pixels,
                                   up_to_instance_ids=True)
                self.checks.instances(name.format('instances'),
                                      _instances_dict(frame.pred_instances),
                                      instances[clip_index][frame_index], self.tol.scores,
                                      self.tol.pixels, reference_ids=track_ids)

    def _iou_thr(self, value: float):
        return self.model.inference_settings(test_cfg=dict(iou_thr=float(value)))

    def run_postprocessing(self) -> None:
        out = self.output('out_postproc.pth')
        if out is None:
            return
        test_cfg = dataclasses.asdict(self.model.postprocessor.cfg)
        differing = sum(test_cfg.get(key) != value for key, value in out['test_cfg'].items())
        self.checks.add(Check('postproc/test_cfg', 'identical', differing, 0, differing == 0))
        samples = self.model.predict(self.inputs['images'], _image_samples(self.inputs))
        _check_images_postprocessing(self.checks, 'postproc/', samples, out['panoptic_seg'],
                                     out['instances'], self.tol)
        if 'extra_iou_thr_low' in out:
            with self._iou_thr(out['extra_iou_thr_low.iou_thr']):
                samples = self.model.predict(self.inputs['images'], _image_samples(self.inputs))
            _check_images_postprocessing(
                self.checks, 'postproc/extra_iou_thr_low.', samples,
                out['extra_iou_thr_low.panoptic_seg'], out['extra_iou_thr_low.instances'],
                self.tol)

    def run_open_vocabulary(self, feats: List[torch.Tensor],
                            video_feats: Optional[List[torch.Tensor]]) -> None:
        out = self.output('out_openvoc.pth')
        if out is None:
            return
        settings = self.case.model.get('open_vocabulary', {})
        fusion = OpenVocabFusion(seen_flags=list(settings.get('overlapping', out['overlapping'])),
                                 alpha=float(settings.get('alpha', out['alpha'])),
                                 beta=float(settings.get('beta', out['beta'])))
        for key in ('overlapping', 'alpha', 'beta'):
            if key in settings and settings[key] != out[key]:
                self.checks.add(Check(f'openvoc/{key}', 'identical', 1, 0, False,
                                      'case.json and out_openvoc.pth disagree'))
        model, head = self.model, self.model.panoptic_head
        classes = model.vocabulary.classes
        batch_input_shape = tuple(self.inputs['image_metas'][0]['batch_input_shape'])
        predicted = _head_predict(head, feats, batch_input_shape)
        mask_cls, mask_pred = predicted.class_logits, predicted.mask_logits
        self.checks.close('openvoc/input_mask_cls_results', mask_cls,
                          out['input_mask_cls_results'], self.tol.cls)
        clip = clip_mask_logits(model.backbone, head.text_classifier, feats[-1], mask_pred)
        self.checks.close('openvoc/clip_feat', model.backbone.get_clip_feature(feats[-1]),
                          out['clip_feat'], self.tol.features)
        for ours, key, atol in (('clip_feat_mask', 'clip_feat_mask', self.tol.features),
                                ('pooled', 'clip_pooled_feat', self.tol.features),
                                ('embedding', 'clip_embedding', self.tol.features),
                                ('logits', 'clip_logit', self.tol.cls)):
            self.checks.close(f'openvoc/{key}', clip[ours], out[key], atol)
        self.checks.identical('openvoc/valid_masking', clip['valid'], out['valid_masking'])
        fused = fusion(model.backbone, head.text_classifier, classes, feats[-1], mask_cls,
                       mask_pred)
        self.checks.close('openvoc/open_voc_cls_results', fused, out['open_voc_cls_results'],
                          self.tol.open_vocab)
        emptied = mask_pred.clone()
        emptied[:, 0] = -(emptied[:, 0].abs() + 1)
        self.checks.close('openvoc/extra_forced_invalid_query0_cls_results',
                          fusion(model.backbone, head.text_classifier, classes, feats[-1],
                                 mask_cls, emptied),
                          out['extra_forced_invalid_query0_cls_results'], self.tol.open_vocab)
        if video_feats is not None and 'video_open_voc_cls_results' in out:
            frames = self.inputs['video'].shape[1]
            video_shape = tuple(self.inputs['video_metas'][0][0]['batch_input_shape'])
            video_predicted = _head_predict(head, video_feats, video_shape, num_frames=frames)
            self.checks.close('openvoc/video_input_mask_cls_results',
                              video_predicted.class_logits, out['video_input_mask_cls_results'],
                              self.tol.cls_video)
            self.checks.close('openvoc/video_open_voc_cls_results',
                              fusion(model.backbone, head.text_classifier, classes,
                                     video_feats[-1], video_predicted.class_logits,
                                     video_predicted.mask_logits, num_frames=frames),
                              out['video_open_voc_cls_results'], self.tol.open_vocab)
        model.open_vocab = fusion
        try:
            samples = model.predict(self.inputs['images'], _image_samples(self.inputs))
            _check_images_postprocessing(self.checks, 'openvoc/model_predict_', samples,
                                         out['model_predict_panoptic_seg'],
                                         out['model_predict_instances'], self.tol)
            extra = self.case.description.get('model', {}).get('extra_runs', {}).get('iou_thr')
            if 'extra_iou_thr_low_panoptic_seg' in out and extra is not None:
                with self._iou_thr(extra):
                    samples = model.predict(self.inputs['images'], _image_samples(self.inputs))
                _check_images_postprocessing(self.checks, 'openvoc/extra_iou_thr_low_', samples,
                                             out['extra_iou_thr_low_panoptic_seg'], None,
                                             self.tol)
        finally:
            model.open_vocab = None


def run_reference_case(case: ReferenceCase) -> CheckList:
    """Build the case model, run every call and return the checks."""
    return CaseRunner(case).run()
