"""Objects made from click / box / painted prompts on one image (the uploaded image or a video's
first frame), as the web demo edits them."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from seg.apis.results import display_name
from seg.apis.visualizer import color_for, overlay_masks


@dataclass
class PromptAction:
    """One click, box or painted mask; ``mask`` / ``label`` / ``score`` as last predicted.

    ``refines``: a positive click added to the current object (negative actions always refine
    it). ``combined``: ``mask`` is the whole object's after this action (a multi-point model
    decoded the object's clicks as one prompt), not the region under this action alone."""
    kind: str                      # 'point', 'box' or 'drawn'
    positive: bool
    coords: Tuple[float, ...]      # (x, y), (x1, y1, x2, y2) or () for 'drawn'
    mask: np.ndarray
    label: Optional[int] = None
    score: Optional[float] = None
    vocabulary_version: int = 0
    refines: bool = False
    combined: bool = False

    @property
    def starts_object(self) -> bool:
        return self.positive and not self.refines


class ObjectEditor:
    """Objects built from prompts on one image (the uploaded image, or a video's first frame).

    A positive point / box / painted mask starts an object; later actions on the current (last)
    object refine it: a combined action (multi-point model) replaces its mask, otherwise a
    negative point / box removes the region it predicts and an added click adds its region.
    Undo removes the last action.
    """

    def __init__(self, image: np.ndarray, key: Tuple):
        self.image = image
        self.key = key
        self.actions: List[PromptAction] = []

    @property
    def size(self) -> Tuple[int, int]:
        return tuple(self.image.shape[:2])

    def objects(self) -> List[Dict[str, object]]:
        """Per object: its first action, the actions refining it, its final mask and the
        label / score of its latest combined prediction (else of its first action)."""
        objects = []
        for action in self.actions:
            if action.starts_object:
                objects.append(dict(action=action, refinements=[], mask=action.mask.copy(),
                                    label=action.label, score=action.score))
                continue
            current = objects[-1]
            current['refinements'].append(action)
            if action.combined:
                current.update(mask=action.mask.copy(), label=action.label, score=action.score)
            elif action.positive:
                current['mask'] |= action.mask
            else:
                current['mask'] &= ~action.mask
        return objects

    def object_actions(self, index: int) -> List[PromptAction]:
        """The actions of the object that action ``index`` belongs to, up to that action."""
        start = index
        while not self.actions[start].starts_object:
            start -= 1
        return self.actions[start:index + 1]

    def masks(self) -> np.ndarray:
        objects = self.objects()
        if not objects:
            return np.zeros((0,) + self.size, dtype=bool)
        return np.stack([obj['mask'] for obj in objects])

    def render(self, class_names: Sequence[str]) -> Tuple[np.ndarray, List[dict]]:
        """The overlay (masks, clicks, boxes; no legend panel) and the object list."""
        objects = self.objects()
        # The colours draw_vos gives object ids 1..N, so the VOS result keeps them.
        colors = [color_for(3000 + index) for index in range(1, len(objects) + 1)]
        canvas = overlay_masks(self.image, [obj['mask'] for obj in objects], colors, alpha=0.5)
        scale = max(1, round(max(self.size) / 400))
        entries = []
        for index, (obj, color) in enumerate(zip(objects, colors), start=1):
            for action in [obj['action']] + obj['refinements']:
                self._draw_action(canvas, action, color, scale)
            action = obj['action']
            name = ('painted' if obj['label'] is None
                    else display_name(class_names[obj['label']]))
            refinements = obj['refinements']
            entries.append(dict(id=index, kind=action.kind, class_name=name,
                                coords=[round(v, 2) for v in action.coords],
                                score=None if obj['score'] is None else round(obj['score'], 4),
                                area=int(obj['mask'].sum()),
                                negatives=sum(not a.positive for a in refinements),
                                added=sum(a.positive for a in refinements),
                                color='#%02x%02x%02x' % color))
        return canvas, entries

    @staticmethod
    def _draw_action(canvas: np.ndarray, action: PromptAction, color, scale: int) -> None:
        if action.kind == 'point':
            center = (int(round(action.coords[0])), int(round(action.coords[1])))
            fill = (40, 200, 60) if action.positive else (230, 30, 30)
            cv2.circle(canvas, center, 5 * scale, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(canvas, center, 4 * scale, fill, -1, cv2.LINE_AA)
            if not action.positive:
                cv2.line(canvas, (center[0] - 2 * scale, center[1]),
                         (center[0] + 2 * scale, center[1]), (255, 255, 255), scale)
        elif action.kind == 'box':
            x1, y1, x2, y2 = (int(round(v)) for v in action.coords)
            edge = tuple(int(c) for c in color) if action.positive else (230, 30, 30)
            cv2.rectangle(canvas, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), edge, 2 * scale)
