"""`Predictor`: one OMG-Seg model for every task, in the spirit of segment-anything.

    predictor = Predictor.from_config('configs/omg_seg/omg_convl_coco_panoptic_eval.py',
                                      'omg_seg_convl_converted.pth')
    result = predictor.predict('image.jpg', task='panoptic')      # ImageResult
    predictor.set_image('image.jpg')                               # features cached
    masks = predictor.predict_prompts(points=[[120, 80]], boxes=[[10, 10, 200, 150]])
    predictor.set_vocabulary(['zebra', 'giraffe'], stuff_classes=['grass'])
    predictor.add_exemplar('widget', 'example.jpg', widget_mask)  # a class from examples
    predictor.set_vocabulary(['zebra', 'widget'])                 # text and examples mixed
    video = predictor.predict_video('clip.mp4', task='instance')   # stable ids per frame

Runs on the GPU when one is present, else on the CPU (or on ``device``). Images and prompts are
in pixels of the original image; results come back at that size as numpy arrays
(:mod:`seg.apis.results`). Only the model's public entry points are used: ``image_features``
once per image (backbone + pixel decoder, cached by :meth:`Predictor.set_image`), then
``predict_image`` / ``predict_prompts`` as often as asked, ``predict_video`` for videos and
``inference_settings`` for the tasks of one call.
"""
import copy
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.structures import InstanceData

from seg.checkpoint import load_converted_weights
from seg.models import build_segmentor
from seg.registry import TRANSFORMS
from seg.structures import SegDataSample
from seg.utils.paths import resolve_data_path
from seg.models.exemplar_vocabulary import set_mixed_vocabulary
from seg.vocab.dataset_vocabulary import Vocabulary
from seg.vocab.exemplar_bank import (ExemplarBank, check_prototype_kind,
                                     load_exemplar_vocabulary, save_exemplar_vocabulary)
from seg.vocab.runtime_vocabulary import vocabulary_from_names
from .exemplars import embed_example_masks
from .inputs import (ImageInput, check_first_frame_masks, check_prompts, load_image, pack_image,
                     read_video)
from .results import ImageResult, Instances, PromptResult, VideoResult

TASKS = ('panoptic', 'instance', 'semantic')
_TASK_FLAGS = dict(panoptic='panoptic_on', instance='instance_on', semantic='semantic_on')


def parse_tasks(task: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """'panoptic' / 'instance' / 'semantic' / 'all' or a list of them -> task tuple."""
    tasks = TASKS if task == 'all' else (task,) if isinstance(task, str) else tuple(task)
    unknown = [name for name in tasks if name not in TASKS]
    if unknown or not tasks:
        raise ValueError(f'unknown task(s) {unknown or task!r}; choose from {TASKS} or "all"')
    return tasks


def _load_config(config: Union[str, Path, Config, dict]) -> Config:
    if isinstance(config, Config):
        return copy.deepcopy(config)
    if isinstance(config, dict):
        return Config(copy.deepcopy(config))
    try:
        path = resolve_data_path(config)  # also a packaged config, by its path in the package
    except FileNotFoundError as error:
        raise FileNotFoundError(f'config file not found: {error}') from None
    return Config.fromfile(str(path))


def _test_resize(cfg: Config):
    """The ``Resize`` step of the config's test pipeline (built), or None."""
    pipelines = [cfg.get('test_pipeline')]
    for loader in ('test_dataloader', 'val_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        pipelines.append(dataset.get('pipeline'))
    for pipeline in pipelines:
        for step in pipeline or ():
            kind = step.get('type')
            name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
            if name == 'Resize':
                return TRANSFORMS.build(copy.deepcopy(step))
    return None


def _as_vocabulary(names, stuff_classes: Sequence[str] = (),
                   name: Optional[str] = None) -> Vocabulary:
    if isinstance(names, Vocabulary):
        return names
    if names is not None and not isinstance(names, (str, Path)) and len(names) == 0 \
            and not stuff_classes:
        raise ValueError('the vocabulary is empty: give at least one class name')
    return vocabulary_from_names(names, stuff_classes, name)


def _instances(data: InstanceData, class_names: Tuple[str, ...]) -> Instances:
    ids = data.instances_id.cpu().numpy().astype(np.int64) if 'instances_id' in data else None
    return Instances(masks=data.masks.cpu().numpy().astype(bool),
                     labels=data.labels.cpu().numpy().astype(np.int64),
                     scores=data.scores.float().cpu().numpy(),
                     boxes=data.bboxes.float().cpu().numpy(), class_names=class_names, ids=ids)


class Predictor:
    """Image, prompt and video segmentation with one ``OMGSegmentor``.

    Args:
        model: a built ``OMGSegmentor`` (weights loaded).
        resize: the test-time ``Resize`` transform (None: images keep their size).
        device: 'cpu', 'cuda', ...; default: CUDA when available, else CPU.
        exemplar_prototype: how example masks define a class (``'decoder'``, ``'clip'`` or
            ``'mix'``, see ``seg.models.exemplar_prototypes``).
    """

    def __init__(self, model, resize=None, device: Optional[Union[str, torch.device]] = None,
                 exemplar_prototype: str = 'decoder'):
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.resize = resize
        self._image: Optional[Dict[str, object]] = None
        self.exemplars = ExemplarBank()  # classes given by example masks, embedded once
        self.exemplar_prototype = check_prototype_kind(exemplar_prototype)

    @classmethod
    def from_config(cls, config: Union[str, Path, Config, dict],
                    checkpoint: Optional[Union[str, Path]] = None,
                    device: Optional[Union[str, torch.device]] = None,
                    vocabulary=None, cfg_options: Optional[dict] = None) -> 'Predictor':
        """Build the config's model, load ``checkpoint`` (converted, or a published OMG-Seg
        file converted on the fly) and take the test resize from the config.

        ``vocabulary``: class names (or a names file, see ``seg.vocab.runtime_vocabulary``)
        replacing the config's vocabulary; their text embeddings are generated and cached.
        """
        cfg = _load_config(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if 'model' not in cfg:
            raise KeyError(f'config {config} has no "model"')
        model_cfg = copy.deepcopy(cfg.model)
        if vocabulary is not None:
            vocab = _as_vocabulary(vocabulary)
            model_cfg.vocabulary = dict(thing_classes=list(vocab.thing_classes),
                                        stuff_classes=list(vocab.stuff_classes), name=vocab.name)
            embeddings = ConfigDict(model_cfg.get('text_embeddings') or {})
            embeddings.pop('file', None)  # the configured file is the configured vocabulary's
            embeddings.generate_if_missing = True
            model_cfg.text_embeddings = embeddings
        model = build_segmentor(model_cfg)
        if checkpoint is None:
            named = config if isinstance(config, (str, Path)) else 'a config object'
            warnings.warn(f'Predictor.from_config({named}) without a checkpoint: the model '
                          'keeps random weights (its predictions are meaningless)')
        else:
            report = load_converted_weights(model, checkpoint)
            if report.renamed or report.dropped:
                print_log(f'checkpoint {checkpoint} converted on loading:\n{report.summary()}',
                          logger='current')
        return cls(model, resize=_test_resize(cfg), device=device)

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path],
                        config: Optional[Union[str, Path]] = None,
                        device: Optional[Union[str, torch.device]] = None, vocabulary=None,
                        cfg_options: Optional[dict] = None, revision: Optional[str] = None,
                        index: Optional[Union[str, Path]] = None) -> 'Predictor':
        """A released model by its model-index name (``'omg-seg-convl'``, ``python -m
        seg.models list``) or a local checkpoint: downloaded through the Hugging Face hub
        (cache, ``HF_HUB_OFFLINE``, ``revision``), converted once, cached; ``config`` replaces
        the index's config. See :mod:`seg.apis.pretrained`."""
        from .pretrained import from_pretrained
        return from_pretrained(cls, name_or_path, config=config, device=device,
                               vocabulary=vocabulary, cfg_options=cfg_options,
                               revision=revision, index=index)

    # ------------------------------------------------------------------ vocabulary
    @property
    def class_names(self) -> Tuple[str, ...]:
        return tuple(self.model.vocabulary.classes)

    @property
    def num_things(self) -> int:
        return self.model.vocabulary.num_things

    def set_vocabulary(self, names, stuff_classes: Sequence[str] = (),
                       name: Optional[str] = None) -> None:
        """Predict these classes from now on (thing names, optional stuff names, or a names
        file). Text embeddings come from the CLIP text tower, computed once and cached; a name
        given to :meth:`add_exemplar` is defined by its examples instead."""
        vocabulary = _as_vocabulary(names, stuff_classes, name)
        if len(self.exemplars):  # also checks that no text class names an exemplar class
            set_mixed_vocabulary(self.model, vocabulary, self.exemplars,
                                 self.exemplar_prototype)
        else:
            self.model.set_vocabulary(vocabulary)

    @torch.no_grad()
    def add_exemplar(self, name: str, image: Optional[ImageInput] = None, mask=None,
                     thing: bool = True, image_format: str = 'RGB') -> None:
        """Define (or refine) class ``name`` by an example: ``mask`` ((H, W) bool, or (N, H, W)
        for several examples) on ``image``, or on the image of :meth:`set_image` when ``image``
        is None (the current image stays set). Several examples of a name are averaged. The
        class is used once it is in the vocabulary (:meth:`set_vocabulary`)."""
        if mask is None:
            raise ValueError(f'add_exemplar({name!r}) needs a mask')
        state = self._current(None, image_format) if image is None else self._encode(
            image, image_format)
        self.exemplars.add(name, embed_example_masks(self.model, state, name, mask), thing)

    def save_vocabulary(self, path: Union[str, Path]) -> Path:
        """Write the current vocabulary with the prototypes of its exemplar classes (text
        classes by name) to ``path``; :meth:`load_vocabulary` restores it."""
        vocabulary = self.model.vocabulary
        backbone = self.model.backbone
        return save_exemplar_vocabulary(path, vocabulary.thing_classes,
                                        vocabulary.stuff_classes, self.exemplars,
                                        self.exemplar_prototype, backbone.model_name,
                                        backbone.embed_dim)

    def load_vocabulary(self, path: Union[str, Path]) -> None:
        """Predict the vocabulary of a :meth:`save_vocabulary` file (its exemplar classes join
        :attr:`exemplars`; prototypes are not recomputed)."""
        backbone = self.model.backbone
        content = load_exemplar_vocabulary(path, backbone.model_name, backbone.embed_dim)
        for exemplar in content['bank']:
            if exemplar.name in self.exemplars:
                self.exemplars.remove(exemplar.name)
            self.exemplars.add(exemplar.name, exemplar.embeddings, exemplar.thing)
        self.exemplar_prototype = content['prototype']
        self.set_vocabulary(content['thing_classes'], content['stuff_classes'])

    # ------------------------------------------------------------------ images
    @torch.no_grad()
    def set_image(self, image: ImageInput, image_format: str = 'RGB') -> None:
        """Compute the features of an image once (backbone + pixel decoder); every later
        :meth:`predict` and :meth:`predict_prompts` call without an image, and a vocabulary
        change in between, reuses them."""
        self._image = self._encode(image, image_format)

    def _encode(self, image: ImageInput, image_format: str) -> Dict[str, object]:
        """Features, metainfo and size of one image."""
        image_bgr = load_image(image, image_format)
        img_path = str(image) if isinstance(image, (str, Path)) else None
        inputs, sample = pack_image(image_bgr, self.resize, img_path)
        data = self.model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]))
        return dict(features=self.model.image_features(data['inputs']),
                    metainfo=dict(data['data_samples'][0].metainfo),
                    size=tuple(image_bgr.shape[:2]))

    def _current(self, image: Optional[ImageInput], image_format: str) -> Dict[str, object]:
        if image is not None:
            self.set_image(image, image_format)
        if self._image is None:
            raise ValueError('no image: pass one or call set_image first')
        return self._image

    def _tasks(self, tasks: Sequence[str]):
        """The model's inference settings producing exactly ``tasks``."""
        return self.model.inference_settings(
            test_cfg={flag: name in tasks for name, flag in _TASK_FLAGS.items()})

    @torch.no_grad()
    def predict(self, image: Optional[ImageInput] = None,
                task: Union[str, Sequence[str]] = 'panoptic',
                image_format: str = 'RGB', points=None, boxes=None, labels=None,
                prompts: Optional[Sequence[dict]] = None) -> ImageResult:
        """Panoptic / instance / semantic segmentation ('all' for the three) of ``image`` (or
        of the image given to :meth:`set_image`).

        With location prompts (``points`` / ``boxes`` / ``labels`` / ``prompts`` as in
        :meth:`predict_prompts`) the semantic queries and the prompts are decoded in one pass
        (neither sees the other, so the segmentation is the one without prompts) and
        ``ImageResult.prompts`` holds one labelled mask per prompt."""
        tasks = parse_tasks(task)
        state = self._current(image, image_format)
        sample = SegDataSample(metainfo=state['metainfo'])
        prompted = any(value is not None for value in (points, boxes, labels, prompts))
        if prompted:
            sample.prompts, prompt_points, prompt_boxes = self._prompt_instances(
                state, points, boxes, labels, prompts)
        with self._tasks(tasks):
            if prompted:
                sample = self.model.predict_image_and_prompts(state['features'], [sample])[0]
            else:
                sample = self.model.predict_image(state['features'], [sample])[0]
        names = self.class_names
        result = ImageResult(class_names=names, num_things=self.num_things,
                             image_size=state['size'])
        if 'panoptic' in tasks:
            result.panoptic = sample.pred_panoptic_seg.sem_seg[0].cpu().numpy().astype(np.int32)
        if 'instance' in tasks:
            result.instances = _instances(sample.pred_instances, names)
        if 'semantic' in tasks:
            result.semantic = sample.pred_sem_seg.sem_seg[0].cpu().numpy().astype(np.int64)
        if prompted:
            result.prompts = self._prompt_result(sample.pred_prompts, prompt_points,
                                                 prompt_boxes)
        return result

    @torch.no_grad()
    def predict_prompts(self, points=None, boxes=None, image: Optional[ImageInput] = None,
                        image_format: str = 'RGB', labels=None,
                        prompts: Optional[Sequence[dict]] = None) -> PromptResult:
        """Masks for location prompts, in pixels of the original image; all decoded in one
        pass, each with the best class of the vocabulary and its score.

        * ``points`` (P, 2) x, y clicks and/or ``boxes`` (M, 4) x1, y1, x2, y2: one mask per
          point, then one per box (each click its own prompt).
        * ``points`` with ``labels`` (P,) (1 positive, 0 negative) and at most one box: all of
          them form one prompt (needs a multi-point model): one mask.
        * ``prompts``: a list of multi-point prompts, each a dict with ``points`` (k, 2),
          ``labels`` (k,) (default: all positive) and / or ``box`` (4,): one mask per prompt.
        A multi-point prompt needs a box or a positive click.
        """
        state = self._current(image, image_format)
        sample = SegDataSample(metainfo=state['metainfo'])
        sample.prompts, points, boxes = self._prompt_instances(state, points, boxes, labels,
                                                               prompts)
        result = self.model.predict_prompts(state['features'], [sample])[0].pred_prompts
        return self._prompt_result(result, points, boxes)

    def _prompt_result(self, result: InstanceData, points, boxes) -> PromptResult:
        return PromptResult(masks=result.masks.cpu().numpy().astype(bool),
                            labels=result.labels.cpu().numpy().astype(np.int64),
                            scores=result.scores.float().cpu().numpy(),
                            class_names=self.class_names, points=points, boxes=boxes)

    def _prompt_instances(self, state: Dict[str, object], points, boxes, labels,
                          prompts: Optional[Sequence[dict]]
                          ) -> Tuple[InstanceData, np.ndarray, np.ndarray]:
        """The prompts of :meth:`predict_prompts`' arguments as the model's ``prompts``
        (pixels of the network input) and the checked points and boxes (original pixels)."""
        if self.model.prompt_encoder is None:
            raise ValueError('this model has no prompt encoder (model.prompt_encoder=None): '
                             'point / box prompts need a model trained with them')
        meta = state['metainfo']
        scale = np.asarray(meta.get('scale_factor', (1.0, 1.0)), dtype=np.float32)
        if prompts is not None or labels is not None:
            if prompts is not None and (points is not None or boxes is not None
                                        or labels is not None):
                raise ValueError('give either prompts=[...] or points / labels / boxes')
            if prompts is None:
                boxes = None if boxes is None or len(boxes) == 0 else np.asarray(boxes)
                if boxes is not None and boxes.reshape(-1, 4).shape[0] > 1:
                    raise ValueError('points with labels form one prompt: give at most one box')
                prompts = [dict(points=points, labels=labels,
                                box=None if boxes is None else boxes.reshape(4))]
            grouped = [self._checked_prompt(index, prompt, state['size'])
                       for index, prompt in enumerate(prompts)]
            if not grouped:
                raise ValueError('give at least one prompt')
            if (any(len(p) + (box is not None) > 1 for p, _, box in grouped)
                    and not getattr(self.model.prompt_encoder, 'multi_point', False)):
                raise ValueError('this model takes one click or box per prompt '
                                 '(prompt_encoder.multi_point=False): give points / boxes '
                                 'without labels or prompts')
            instances = multi_point_instances(grouped, scale)
            points = np.concatenate([p for p, _, _ in grouped]).reshape(-1, 2)
            boxes = np.asarray([box for _, _, box in grouped if box is not None],
                               dtype=np.float32).reshape(-1, 4)
        else:
            points, boxes = check_prompts(points, boxes, state['size'])
            scaled_points = points * scale
            scaled_boxes = boxes * np.concatenate([scale, scale])
            prompt_boxes = np.concatenate([np.concatenate([scaled_points, scaled_points], 1),
                                           scaled_boxes]).astype(np.float32)
            is_point = np.arange(len(prompt_boxes)) < len(points)
            instances = InstanceData(boxes=torch.from_numpy(prompt_boxes),
                                     is_point=torch.from_numpy(is_point))
        return instances.to(self.device), points, boxes

    @staticmethod
    def _checked_prompt(index: int, prompt, size):
        """(k, 2) points, (k,) labels and the box (or None) of one multi-point prompt."""
        if not isinstance(prompt, dict) or not set(prompt) <= {'points', 'labels', 'box'}:
            raise ValueError(f'prompt {index} must be a dict with points / labels / box, got '
                             f'{prompt!r}')
        box = prompt.get('box')
        points, boxes = check_prompts(prompt.get('points'),
                                      None if box is None else [box], size)
        labels = prompt.get('labels')
        labels = (np.ones(len(points), dtype=np.int64) if labels is None
                  else np.asarray(labels, dtype=np.int64).reshape(-1))
        if len(labels) != len(points) or not np.isin(labels, (0, 1)).all():
            raise ValueError(f'prompt {index}: labels must be one 0 (negative) or 1 (positive) '
                             f'per point, got {labels.tolist()} for {len(points)} points')
        if len(boxes) == 0 and not (labels == 1).any():
            raise ValueError(f'prompt {index} needs a box or a positive click')
        return points, labels, (boxes[0] if len(boxes) else None)

    # ------------------------------------------------------------------ videos
    @torch.no_grad()
    def predict_video(self, frames: Union[str, Path, Sequence[ImageInput]],
                      task: Union[str, Sequence[str]] = 'panoptic',
                      first_frame_masks=None, object_ids: Optional[Sequence[int]] = None,
                      image_format: str = 'RGB') -> VideoResult:
        """Segment a video: a list of frames (arrays or paths), a video file or a folder of
        frames. Thing ids are stable over the video. With ``first_frame_masks`` ((N, H, W)
        bool at the frame size) the objects are followed through the video (VOS) and
        ``VideoResult.vos`` holds one id map per frame (ids ``object_ids``, default 1..N)."""
        tasks = parse_tasks(task)
        if isinstance(frames, (str, Path)):
            images = read_video(frames)
        else:
            images = [load_image(frame, image_format) for frame in frames]
        if not images:
            raise ValueError('the video has no frames')
        size = images[0].shape[:2]
        for index, image in enumerate(images):
            if image.shape[:2] != size:
                raise ValueError(f'frame {index} has size {image.shape[:2]}, frame 0 {size}')
        packed = [pack_image(image, self.resize) for image in images]
        samples = [sample for _, sample in packed]
        first = self.model.data_preprocessor(dict(inputs=[packed[0][0]],
                                                  data_samples=[samples[0]]))
        batch_input_shape = first['data_samples'][0].metainfo['batch_input_shape']
        for index, sample in enumerate(samples):
            sample.set_metainfo(dict(batch_input_shape=batch_input_shape, frame_id=index))

        def frame_source(start: int, stop: int) -> torch.Tensor:
            data = self.model.data_preprocessor(
                dict(inputs=[inputs for inputs, _ in packed[start:stop]]))
            return data['inputs']

        # VOS runs exactly when first-frame masks are given, whatever the config's video_cfg
        # says (a VOS config without masks would have nothing to propagate).
        video_cfg = dict(vos_on=first_frame_masks is not None)
        if first_frame_masks is not None:
            masks, ids = check_first_frame_masks(first_frame_masks, size, object_ids)
            samples[0].gt_instances = InstanceData(masks=masks.to(self.device),
                                                   instances_ids=ids.to(self.device))
        names = self.class_names
        frame_results: List[ImageResult] = [None] * len(samples)
        vos_maps: List[np.ndarray] = [None] * len(samples)

        def on_frame(index: int, outputs: dict) -> None:
            result = ImageResult(class_names=names, num_things=self.num_things,
                                 image_size=tuple(size))
            if 'panoptic' in outputs:
                result.panoptic = outputs['panoptic'].cpu().numpy().astype(np.int32)
            if 'instances' in outputs:
                result.instances = _instances(outputs['instances'], names)
            if 'semantic' in outputs:
                result.semantic = outputs['semantic'].cpu().numpy().astype(np.int64)
            if 'vos' in outputs:
                vos_maps[index] = outputs['vos'].cpu().numpy().astype(np.int32)
            frame_results[index] = result

        with self._tasks(tasks):
            summary = self.model.predict_video(frame_source, samples, on_frame, video_cfg)
        video = VideoResult(frames=frame_results, class_names=names,
                            vos=vos_maps if first_frame_masks is not None else None)
        tracks = summary.get('tracks')
        if tracks is not None:
            video.track_labels = tracks['labels'].cpu().numpy()
            video.track_scores = tracks['scores'].float().cpu().numpy()
            video.track_ids = tracks['instances_id'].cpu().numpy()
        return video


def multi_point_instances(prompts, scale) -> InstanceData:
    """``InstanceData`` of multi-point prompts [(points (k, 2), labels (k,), box or None)] in
    original-image pixels, scaled to the network input by ``scale`` (x, y): the first token of
    a prompt is its box, else its first positive click; its other clicks are ``points`` /
    ``point_labels`` (padded with label -1)."""
    scale = np.asarray(scale, dtype=np.float32)
    firsts, is_point, extras = [], [], []
    for points, labels, box in prompts:
        points = np.asarray(points, dtype=np.float32).reshape(-1, 2) * scale
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if box is not None:
            firsts.append(np.asarray(box, dtype=np.float32) * np.concatenate([scale, scale]))
            is_point.append(False)
            extras.append((points, labels))
        else:
            first = int(np.flatnonzero(labels == 1)[0])
            firsts.append(np.concatenate([points[first], points[first]]))
            is_point.append(True)
            keep = np.arange(len(points)) != first
            extras.append((points[keep], labels[keep]))
    width = max(len(labels) for _, labels in extras)
    instances = InstanceData(boxes=torch.from_numpy(np.stack(firsts).astype(np.float32)),
                             is_point=torch.from_numpy(np.asarray(is_point, dtype=bool)))
    if width > 0:
        all_points = np.zeros((len(prompts), width, 2), dtype=np.float32)
        all_labels = np.full((len(prompts), width), -1, dtype=np.int64)
        for row, (points, labels) in enumerate(extras):
            all_points[row, :len(labels)] = points
            all_labels[row, :len(labels)] = labels
        instances.points = torch.from_numpy(all_points)
        instances.point_labels = torch.from_numpy(all_labels)
    return instances
