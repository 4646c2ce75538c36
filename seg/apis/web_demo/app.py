"""The web demo's state and model calls, independent of HTTP (``server.py`` maps requests here).

One :class:`DemoApp` wraps one :class:`~seg.apis.Predictor` and keeps a few browser sessions,
each with its image (segmentation result and click prompts) and its video (first-frame objects
and the last video job). Model calls are serialised by one lock: the model is not thread safe
and the demo runs on one device.

Only the Predictor's public methods are used (``set_image``, ``predict``, ``predict_prompts``,
``set_vocabulary``, ``predict_video``, ``class_names``, ``num_things``), with the drawing and
result helpers of :mod:`seg.apis`.

Click prompts: every positive click or box starts an object whose mask comes from
``predict_prompts`` (one mask per prompt; the model decodes each prompt on its own). Negative
clicks and added positive clicks refine the current (last) object. With a model that takes
multi-point prompts (``prompt_encoder.multi_point``) the object's first click or box and all
its later clicks are decoded as one prompt, so each click steers the decoder; otherwise a
refining click predicts the region under it on its own and that region is removed from (or
added to) the object's mask.
"""
import io
import itertools
import json
import logging
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from seg.apis.results import ImageResult, display_name
from seg.apis.visualizer import draw_result, draw_vos
from .codec import (MB, DemoError, DemoLimits, clean_names, data_url, decode_image, decode_mask,
                    encode_image, size_text)
from .objects import ObjectEditor, PromptAction

logger = logging.getLogger(__name__)

TASKS = ('panoptic', 'instance', 'semantic')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.gif')


# ---------------------------------------------------------------------------- sessions
@dataclass
class VideoJob:
    """One predict_video run and the drawing of its frames, in a background thread."""
    id: str
    task: str
    vos: bool
    num_frames: int
    state: str = 'queued'          # queued, segmenting, drawing, done, error
    message: str = 'waiting for the model'
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    finished: Optional[float] = None
    error: Optional[str] = None
    views: Dict[str, List[bytes]] = field(default_factory=dict)
    legends: Dict[str, List[List[str]]] = field(default_factory=dict)
    summary: Optional[dict] = None

    def status(self) -> dict:
        status = dict(job=self.id, state=self.state, message=self.message, done=self.done,
                      total=self.total, elapsed=round((self.finished or time.time())
                                                      - self.started, 1),
                      num_frames=self.num_frames, task=self.task, vos=self.vos)
        if self.error:
            status['error'] = self.error
        if self.state == 'done':
            status['views'] = sorted(self.views)
            status['legends'] = self.legends
            status['summary'] = self.summary
        return status


@dataclass
class VideoState:
    name: str
    frames: List[np.ndarray]
    editor: ObjectEditor
    job: Optional[VideoJob] = None


@dataclass
class Session:
    id: str
    image: Optional[np.ndarray] = None
    image_name: str = ''
    editor: Optional[ObjectEditor] = None
    result: Optional[ImageResult] = None
    result_task: Optional[str] = None
    video: Optional[VideoState] = None


class DemoApp:
    """The demo's operations; every public method returns a json-ready dict (or bytes).

    Args:
        predictor: a ``seg.apis.Predictor``.
        limits: upload limits (:class:`DemoLimits`).
        description: shown in the page header (config, checkpoint, device).
        max_sessions: sessions kept (the oldest is dropped beyond).
    """

    def __init__(self, predictor, limits: Optional[DemoLimits] = None, description: str = '',
                 random_weights: bool = False, max_sessions: int = 8):
        self.predictor = predictor
        self.limits = limits or DemoLimits()
        self.description = description
        self.random_weights = random_weights
        self.max_sessions = max_sessions
        self.sessions: 'OrderedDict[str, Session]' = OrderedDict()
        self.lock = threading.RLock()              # model calls and session contents
        self._sessions_lock = threading.Lock()     # the sessions dict (progress polling)
        self.vocabulary_version = 0
        self._image_key: Optional[Tuple] = None
        self._counter = itertools.count(1)
        self.initial_vocabulary = self._vocabulary()

    # ------------------------------------------------------------------ sessions / info
    def _vocabulary(self) -> Dict[str, List[str]]:
        names = list(self.predictor.class_names)
        things = self.predictor.num_things
        return dict(things=names[:things], stuff=names[things:])

    def info(self) -> dict:
        return dict(description=self.description, random_weights=self.random_weights,
                    vocabulary=self._vocabulary(), tasks=list(TASKS),
                    limits=dict(max_image_mb=self.limits.max_image_bytes / MB,
                                max_image_side=self.limits.max_image_side,
                                max_video_mb=self.limits.max_video_bytes / MB,
                                max_video_frames=self.limits.max_video_frames,
                                max_video_side=self.limits.max_video_side))

    def new_session(self) -> dict:
        with self._sessions_lock:
            session = Session(id=uuid.uuid4().hex)
            self.sessions[session.id] = session
            while len(self.sessions) > self.max_sessions:
                self.sessions.popitem(last=False)
            return dict(session=session.id, **self.info())

    def session(self, session_id) -> Session:
        with self._sessions_lock:
            session = self.sessions.get(session_id) if isinstance(session_id, str) else None
            if session is None:
                raise DemoError('unknown session (the server restarted or dropped it): reload '
                                'the page', status=404)
            self.sessions.move_to_end(session_id)
            return session

    def _image_session(self, session_id) -> Session:
        session = self.session(session_id)
        if session.image is None:
            raise DemoError('upload an image first')
        return session

    # ------------------------------------------------------------------ images
    def upload_image(self, session_id, data: bytes, name: str) -> dict:
        image = decode_image(data, name or 'the file', self.limits.max_image_bytes,
                             self.limits.max_image_side)
        with self.lock:
            session = self.session(session_id)
            session.image, session.image_name = image, name
            session.editor = ObjectEditor(image, (session.id, 'image', next(self._counter)))
            session.result = session.result_task = None
            return dict(name=name, width=image.shape[1], height=image.shape[0],
                        image=data_url(image))

    def _set_image(self, editor: ObjectEditor) -> None:
        if self._image_key != editor.key:
            self._image_key = None
            self.predictor.set_image(editor.image)
            self._image_key = editor.key

    def segment(self, session_id, task: str, score_thr: float = 0.3) -> dict:
        if task not in TASKS:
            raise DemoError(f'unknown task {task!r}: choose one of {", ".join(TASKS)}')
        score_thr = self._score_threshold(score_thr)
        with self.lock:
            session = self._image_session(session_id)
            self._set_image(session.editor)
            tasks = [task] if task == 'panoptic' else [task, 'panoptic']
            result = self.predictor.predict(task=tasks)
            session.result, session.result_task = result, task
            options = dict(score_thr=score_thr) if task == 'instance' else {}
            overlay = draw_result(session.image, result, task=task, **options)
            return dict(task=task, overlay=data_url(overlay),
                        rows=self._rows(result, task, score_thr), vocabulary=self._vocabulary())

    @staticmethod
    def _score_threshold(value) -> float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise DemoError(f'the score threshold must be a number, got {value!r}') from None
        if not 0.0 <= value <= 1.0:
            raise DemoError(f'the score threshold must lie in [0, 1], got {value}')
        return value

    @staticmethod
    def _rows(result: ImageResult, task: str, score_thr: float) -> List[dict]:
        """The segments listed under the overlay: class, score (when the task has one),
        area."""
        if task == 'panoptic':
            return [dict(class_name=display_name(s['class_name']), score=None, area=s['area'],
                         kind='thing' if s['is_thing'] else 'stuff',
                         instance=s['instance_id'] or None)
                    for s in result.segments()]
        if task == 'instance':
            instances = result.instances
            rows = [dict(class_name=name, score=round(float(score), 4),
                         area=int(mask.sum()), kind='thing', instance=index + 1)
                    for index, (name, score, mask) in enumerate(zip(
                        instances.names, instances.scores, instances.masks))
                    if score >= score_thr]
            return sorted(rows, key=lambda row: -row['score'])
        labels, areas = np.unique(result.semantic, return_counts=True)
        rows = [dict(class_name=display_name(result.class_names[label]), score=None,
                     area=int(area), kind='thing' if label < result.num_things else 'stuff',
                     instance=None)
                for label, area in zip(labels.tolist(), areas.tolist())
                if 0 <= label < result.num_classes]
        return sorted(rows, key=lambda row: -row['area'])

    def download(self, session_id, what: str) -> Tuple[bytes, str, str]:
        """(content, mime type, file name) of the panoptic PNG or the segments json."""
        with self.lock:
            session = self._image_session(session_id)
            result = session.result
            if result is None or result.panoptic is None:
                raise DemoError('segment the image first (the downloads hold its panoptic '
                                'result)')
            png, info = result.to_panoptic_png()
            stem = Path(session.image_name or 'image').stem or 'image'
            if what == 'panoptic.png':
                return encode_image(png), 'image/png', f'{stem}_panoptic.png'
            if what == 'segments.json':
                segments = []
                for segment, entry in zip(result.segments(), info):
                    segments.append(dict(
                        png_id=entry['id'], value=int(segment['id']),
                        label=int(segment['label']),
                        class_name=display_name(segment['class_name']),
                        is_thing=bool(segment['is_thing']),
                        instance_id=int(segment['instance_id']), area=int(segment['area']),
                        bbox=entry['bbox']))
                content = dict(image=session.image_name, height=result.image_size[0],
                               width=result.image_size[1], class_names=list(result.class_names),
                               num_things=result.num_things, segments=segments,
                               segments_info=info)
                return (json.dumps(content, indent=1).encode(), 'application/json',
                        f'{stem}_segments.json')
        raise DemoError(f'unknown download {what!r} (panoptic.png or segments.json)', status=404)

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, things, stuff) -> dict:
        things = clean_names(things, 'thing classes', self.limits.max_classes)
        stuff = clean_names(stuff, 'stuff classes', self.limits.max_classes)
        if not things and not stuff:
            raise DemoError('the vocabulary is empty: give at least one thing or stuff class')
        if len(things) + len(stuff) > self.limits.max_classes:
            raise DemoError(f'{len(things) + len(stuff)} classes: the demo accepts at most '
                            f'{self.limits.max_classes}')
        with self.lock:
            try:
                self.predictor.set_vocabulary(things, stuff_classes=stuff)
            except ValueError as error:
                raise DemoError(f'vocabulary refused: {error}') from None
            self.vocabulary_version += 1
            with self._sessions_lock:
                sessions = list(self.sessions.values())
            for session in sessions:
                session.result = session.result_task = None
            return dict(vocabulary=self._vocabulary())

    def add_exemplar(self, session_id, name, thing=True) -> dict:
        """The current (last) object's mask on the uploaded image becomes an example of class
        ``name`` (``Predictor.add_exemplar``); the class joins the vocabulary if absent."""
        if not isinstance(name, str) or not isinstance(thing, bool):
            raise DemoError('an example needs "name" (text) and "thing" (true or false)')
        names = clean_names([name], 'exemplar class', 1)
        if not names:
            raise DemoError('give the class name the example shows')
        with self.lock:
            session = self._image_session(session_id)
            masks = session.editor.masks()
            if not len(masks):
                raise DemoError('make an object first (click, box): its mask becomes the example')
            self._set_image(session.editor)
            try:
                self.predictor.add_exemplar(names[0], mask=masks[-1], thing=thing)
            except ValueError as error:
                raise DemoError(f'example refused: {error}') from None
            vocabulary = self._vocabulary()
            group = vocabulary['things' if thing else 'stuff']
            if names[0] not in group:
                group.append(names[0])
            answer = self.set_vocabulary(vocabulary['things'], vocabulary['stuff'])
            return dict(answer, exemplars={exemplar.name: exemplar.num_examples
                                           for exemplar in self.predictor.exemplars})

    def reset_vocabulary(self) -> dict:
        return self.set_vocabulary(self.initial_vocabulary['things'],
                                   self.initial_vocabulary['stuff'])

    # ------------------------------------------------------------------ prompts
    def _multi_point(self) -> bool:
        return bool(getattr(self.predictor.model.prompt_encoder, 'multi_point', False))

    def _predict(self, editor: ObjectEditor, actions: Sequence[PromptAction]) -> Tuple:
        """(mask, label, score, combined) of the last of ``actions`` (an object's actions up
        to it): the whole object as one multi-point prompt when the model takes them and every
        refinement is a click, else the region under the last action alone."""
        self._set_image(editor)
        first, last = actions[0], actions[-1]
        combined = (len(actions) > 1 and first.kind in ('point', 'box') and self._multi_point()
                    and all(action.kind == 'point' for action in actions[1:]))
        if combined:
            clicks = ([first] if first.kind == 'point' else []) + list(actions[1:])
            prompt = dict(points=[list(action.coords) for action in clicks],
                          labels=[int(action.positive) for action in clicks])
            if first.kind == 'box':
                prompt['box'] = list(first.coords)
            result = self.predictor.predict_prompts(prompts=[prompt])
        elif last.kind == 'point':
            result = self.predictor.predict_prompts(points=[list(last.coords)])
        else:
            result = self.predictor.predict_prompts(boxes=[list(last.coords)])
        return result.masks[0], int(result.labels[0]), float(result.scores[0]), combined

    def _refresh(self, editor: ObjectEditor) -> None:
        """Labels (and masks) of prompts predicted under an older vocabulary, predicted
        again."""
        for index, action in enumerate(editor.actions):
            if action.kind != 'drawn' and action.vocabulary_version != self.vocabulary_version:
                action.mask, action.label, action.score, action.combined = self._predict(
                    editor, editor.object_actions(index))
                action.vocabulary_version = self.vocabulary_version

    def _edit(self, editor: ObjectEditor, request: dict) -> None:
        action = request.get('action')
        if action == 'undo':
            if not editor.actions:
                raise DemoError('nothing to undo')
            editor.actions.pop()
            return
        if action == 'clear':
            editor.actions.clear()
            return
        if action == 'view':  # no change: the current objects (after a vocabulary change)
            return
        if action not in ('point', 'box', 'drawn'):
            raise DemoError(f'unknown prompt action {action!r} (point, box, drawn, undo, '
                            'clear, view)')
        positive, refine = request.get('positive', True), request.get('refine', False)
        if not isinstance(positive, bool) or not isinstance(refine, bool):
            raise DemoError('"positive" and "refine" must be true or false')
        refines = refine or not positive
        if refines and action == 'drawn':
            raise DemoError('painted masks are positive and start an object')
        if refine and positive and action != 'point':
            raise DemoError('only clicks are added to an object: a box starts a new one')
        if refines and not any(a.starts_object for a in editor.actions):
            raise DemoError('a negative or added click refines the current object: add a '
                            'positive click or box first')
        if not refines and (sum(a.starts_object for a in editor.actions)
                            >= self.limits.max_prompts):
            raise DemoError(f'at most {self.limits.max_prompts} objects: undo or clear first')
        if action == 'drawn':
            mask = decode_mask(request.get('mask'), editor.size)
            editor.actions.append(PromptAction('drawn', True, (), mask))
            return
        width = 2 if action == 'point' else 4
        coords = request.get('coords')
        if (not isinstance(coords, list) or len(coords) != width
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in coords)):
            raise DemoError(f'a {action} needs "coords": {width} numbers')
        new = PromptAction(action, positive, tuple(float(v) for v in coords), mask=None,
                           vocabulary_version=self.vocabulary_version,
                           refines=refines and positive)
        editor.actions.append(new)
        try:
            new.mask, new.label, new.score, new.combined = self._predict(
                editor, editor.object_actions(len(editor.actions) - 1))
        except ValueError as error:  # outside the image, degenerate box, no prompt parameters
            editor.actions.pop()
            raise DemoError(str(error)) from None

    def _editor_view(self, editor: ObjectEditor) -> dict:
        self._refresh(editor)
        canvas, objects = editor.render(self.predictor.class_names)
        return dict(overlay=data_url(canvas), objects=objects, actions=len(editor.actions))

    def prompt(self, session_id, request: dict) -> dict:
        """Add a point / box (positive or negative), undo or clear on the uploaded image."""
        with self.lock:
            session = self._image_session(session_id)
            self._edit(session.editor, request)
            return self._editor_view(session.editor)

    def video_prompt(self, session_id, request: dict) -> dict:
        """The same on the first frame of the uploaded video (the objects VOS follows); also
        takes a painted mask (``action='drawn'``)."""
        with self.lock:
            video = self._video(session_id)
            self._edit(video.editor, request)
            return self._editor_view(video.editor)

    # ------------------------------------------------------------------ video
    def _video(self, session_id) -> VideoState:
        session = self.session(session_id)
        if session.video is None:
            raise DemoError('upload a video (or frames) first')
        return session.video

    def upload_video(self, session_id, files: Sequence[Tuple[str, bytes]]) -> dict:
        """A video file, or several image files (frames, in file-name order)."""
        if not files:
            raise DemoError('no file received: choose a video or frame images')
        total = sum(len(data) for _, data in files)
        if total > self.limits.max_video_bytes:
            raise DemoError(f'the upload is {size_text(total)}; the demo accepts videos up to '
                            f'{size_text(self.limits.max_video_bytes)}', status=413)
        if len(files) == 1 and self._looks_like_video(*files[0]):
            name = files[0][0]
            frames = self._read_clip(*files[0])
        else:
            if len(files) > self.limits.max_video_frames:
                raise DemoError(f'{len(files)} frames; the demo accepts at most '
                                f'{self.limits.max_video_frames} (--max-video-frames)',
                                status=413)
            files = sorted(files, key=lambda item: item[0])
            frames = [decode_image(data, frame_name, self.limits.max_video_bytes,
                                   self.limits.max_video_side,
                                   what=': a video is one video file or several frame images')
                      for frame_name, data in files]
            for (frame_name, _), frame in zip(files, frames):
                if frame.shape != frames[0].shape:
                    raise DemoError(f'frame {frame_name!r} is {frame.shape[1]}x'
                                    f'{frame.shape[0]}, the first frame {files[0][0]!r} '
                                    f'{frames[0].shape[1]}x{frames[0].shape[0]}: all frames '
                                    'need the same size')
            name = f'{len(files)} images' if len(files) > 1 else files[0][0]
        with self.lock:
            session = self.session(session_id)
            editor = ObjectEditor(frames[0], (session.id, 'video', next(self._counter)))
            session.video = VideoState(name=name, frames=frames, editor=editor)
            return dict(name=name, num_frames=len(frames), width=frames[0].shape[1],
                        height=frames[0].shape[0], first_frame=data_url(frames[0]))

    @staticmethod
    def _looks_like_video(name: str, data: bytes) -> bool:
        if Path(name).suffix.lower() in VIDEO_SUFFIXES:
            return True
        try:
            Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, Image.DecompressionBombError):
            return True  # not an image: only a video remains
        return False

    def _read_clip(self, name: str, data: bytes) -> List[np.ndarray]:
        if not data:
            raise DemoError(f'{name!r} is empty (0 bytes)')
        limit = self.limits.max_video_frames
        with tempfile.TemporaryDirectory(prefix='omgseg_web_demo_') as folder:
            path = Path(folder) / ('clip' + (Path(name).suffix.lower() or '.mp4'))
            path.write_bytes(data)
            capture = cv2.VideoCapture(str(path))
            frames = []
            try:
                while len(frames) <= limit:
                    ok, frame = capture.read()
                    if not ok:
                        break
                    frames.append(frame)
            finally:
                capture.release()
        if not frames:
            raise DemoError(f'cannot read {name!r} as a video: OpenCV decodes no frame of it '
                            '(upload an MP4 / AVI / WebM clip, or the frames as images)')
        if len(frames) > limit:
            raise DemoError(f'{name!r} has more than {limit} frames; the demo accepts at most '
                            f'{limit} (--max-video-frames): cut the clip shorter', status=413)
        height, width = frames[0].shape[:2]
        if max(height, width) > self.limits.max_video_side:
            raise DemoError(f'{name!r} is {width}x{height} pixels; the demo accepts videos up '
                            f'to {self.limits.max_video_side} pixels a side', status=413)
        return [np.ascontiguousarray(frame[..., ::-1]) for frame in frames]

    def start_video(self, session_id, task: str, vos: bool, score_thr: float = 0.3) -> dict:
        if task not in TASKS:
            raise DemoError(f'unknown task {task!r}: choose one of {", ".join(TASKS)}')
        if not isinstance(vos, bool):
            raise DemoError('"vos" must be true or false')
        score_thr = self._score_threshold(score_thr)
        with self.lock:
            video = self._video(session_id)
            if video.job is not None and video.job.state not in ('done', 'error'):
                raise DemoError('this video is already being segmented', status=409)
            masks = video.editor.masks() if vos else None
            if vos:
                if not len(masks):
                    raise DemoError('VOS follows first-frame objects: click, box or paint '
                                    'objects on the first frame first')
                empty = [i + 1 for i, mask in enumerate(masks) if not mask.any()]
                if empty:
                    raise DemoError(f'first-frame object(s) {empty} have an empty mask (negative '
                                    'clicks removed all of it): undo or clear them')
            job = VideoJob(id=uuid.uuid4().hex[:12], task=task, vos=vos,
                           num_frames=len(video.frames))
            video.job = job
        thread = threading.Thread(target=self._run_video,
                                  args=(job, list(video.frames), task, masks, score_thr),
                                  name=f'web-demo-video-{job.id}', daemon=True)
        thread.start()
        return job.status()

    def _run_video(self, job: VideoJob, frames, task, masks, score_thr) -> None:
        try:
            with self.lock:
                job.state = 'segmenting'
                job.message = f'segmenting {len(frames)} frames'
                result = self.predictor.predict_video(frames, task=task,
                                                      first_frame_masks=masks)
            job.state, job.total = 'drawing', len(frames) * (2 if masks is not None else 1)
            job.message = 'drawing the frames'
            options = dict(score_thr=score_thr) if task == 'instance' else {}
            views = dict(segmentation=[draw_result(frame, frame_result, task=task, **options)
                                       for frame, frame_result in self._counting(
                                           job, zip(frames, result.frames))])
            job.legends['segmentation'] = [self._frame_legend(r, task, score_thr)
                                           for r in result.frames]
            if masks is not None:
                views['objects'] = [draw_vos(frame, vos) for frame, vos in
                                    self._counting(job, zip(frames, result.vos))]
                job.legends['objects'] = [[f'object {i}' for i in np.unique(vos).tolist() if i]
                                          for vos in result.vos]
            for view, images in views.items():
                height = max(image.shape[0] for image in images)
                width = max(image.shape[1] for image in images)
                job.views[view] = [encode_image(self._pad(image, height, width), '.jpg')
                                   for image in images]
            job.summary = self._video_summary(result)
            job.state, job.message = 'done', f'{len(frames)} frames segmented'
        except Exception as error:  # reported in the page; the traceback goes to the log
            logger.exception('video job %s failed', job.id)
            job.state = 'error'
            job.error = (str(error) if isinstance(error, (DemoError, ValueError))
                         else f'internal error ({type(error).__name__}: {error}); details are '
                              'in the server log')
            job.message = 'failed'
        finally:
            job.finished = time.time()

    @staticmethod
    def _counting(job: VideoJob, pairs):
        for pair in pairs:
            yield pair
            job.done += 1

    @staticmethod
    def _pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
        if image.shape[:2] == (height, width):
            return image
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)
        canvas[:image.shape[0], :image.shape[1]] = image
        return canvas

    @staticmethod
    def _frame_legend(result: ImageResult, task: str, score_thr: float) -> List[str]:
        if task == 'panoptic':
            return [display_name(s['class_name']) + (f' #{s["instance_id"]}'
                                                     if s['is_thing'] and s['instance_id']
                                                     else '')
                    for s in result.segments()]
        if task == 'instance':
            instances = result.instances
            ids = instances.ids if instances.ids is not None else range(1, len(instances) + 1)
            return [f'{name} #{int(i)} {score:.2f}'
                    for name, i, score in zip(instances.names, ids, instances.scores)
                    if score >= score_thr]
        labels = np.unique(result.semantic).tolist()
        return [display_name(result.class_names[label]) for label in labels
                if 0 <= label < result.num_classes]

    @staticmethod
    def _video_summary(result) -> dict:
        summary = dict(num_frames=len(result), class_names=list(result.class_names))
        if result.track_ids is not None:
            summary['tracks'] = [
                dict(id=int(i), class_name=display_name(result.class_names[int(label)]),
                     score=round(float(score), 4))
                for i, label, score in zip(result.track_ids, result.track_labels,
                                           result.track_scores)]
        return summary

    def video_job(self, session_id, job_id) -> dict:
        video = self._video(session_id)
        if video.job is None or video.job.id != job_id:
            raise DemoError(f'unknown video job {job_id!r} (a newer upload replaced it)',
                            status=404)
        return video.job.status()

    def _done_job(self, session_id, job_id) -> VideoJob:
        video = self._video(session_id)
        job = video.job
        if job is None or job.id != job_id:
            raise DemoError(f'unknown video job {job_id!r} (a newer upload replaced it)',
                            status=404)
        if job.state != 'done':
            raise DemoError(f'the video job is not finished ({job.state})', status=409)
        return job

    def video_frame(self, session_id, job_id, view: str, index) -> bytes:
        job = self._done_job(session_id, job_id)
        if view not in job.views:
            raise DemoError(f'unknown view {view!r} (have {sorted(job.views)})', status=404)
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise DemoError(f'frame index must be an integer, got {index!r}') from None
        if not 0 <= index < len(job.views[view]):
            raise DemoError(f'frame {index} out of range (0..{len(job.views[view]) - 1})',
                            status=404)
        return job.views[view][index]

    def video_zip(self, session_id, job_id) -> bytes:
        """The drawn frames (JPEG) of every view and the per-frame legends, zipped."""
        job = self._done_job(session_id, job_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as archive:
            for view, images in job.views.items():
                for index, image in enumerate(images):
                    archive.writestr(f'{view}/{index:05d}.jpg', image)
            archive.writestr('legends.json', json.dumps(dict(task=job.task,
                                                             legends=job.legends,
                                                             summary=job.summary), indent=1))
        return buffer.getvalue()
