"""Draw segmentation results over images: coloured masks, outlines and a legend panel.

Used by the image demo (``tools/demo_image.py``) and meant for the video demo too. Colours are
a deterministic function of what a segment is (class for stuff, class and instance id for
things), so an object tracked through a video keeps its colour in every frame. Images are RGB
uint8 arrays; every function returns a new array.

    overlay = draw_result(image_rgb, predictor.predict(image_rgb, task='panoptic'))
    save_image('overlay.png', overlay)
"""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from seg.utils.colors import Color, color_for, panoptic_color
from seg.utils.constants import INSTANCE_OFFSET
from .results import ImageResult, Instances, PromptResult, display_name

LegendEntry = Tuple[Color, str]
MAX_LEGEND_ENTRIES = 24


def _check_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'image must be an (H, W, 3) uint8 RGB array, got {image.shape} '
                         f'{image.dtype}')
    if tuple(image.shape[:2]) != tuple(size):
        raise ValueError(f'image size {image.shape[:2]} differs from the result size '
                         f'{tuple(size)}')
    return image


def overlay_masks(image: np.ndarray, masks: Sequence[np.ndarray], colors: Sequence[Color],
                  alpha: float = 0.5, outline: bool = True) -> np.ndarray:
    """Blend each (H, W) bool mask with its colour; optional 1-pixel outlines."""
    canvas = image.astype(np.float32)
    for mask, color in zip(masks, colors):
        if not mask.any():
            continue
        canvas[mask] = canvas[mask] * (1 - alpha) + np.asarray(color, np.float32) * alpha
    canvas = canvas.round().clip(0, 255).astype(np.uint8)
    if outline:
        for mask, color in zip(masks, colors):
            contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                           cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(canvas, contours, -1, tuple(int(c) for c in color), 1)
    return canvas


def add_legend(image: np.ndarray, entries: Sequence[LegendEntry],
               title: Optional[str] = None) -> np.ndarray:
    """The image with a white panel on its right listing colour swatches and labels."""
    entries = list(entries)
    hidden = max(0, len(entries) - MAX_LEGEND_ENTRIES)
    entries = entries[:MAX_LEGEND_ENTRIES]
    if hidden:
        entries.append(((255, 255, 255), f'... {hidden} more'))
    lines = ([title] if title else []) + [text for _, text in entries]
    scale, thickness = 0.45, 1
    line_height = 18
    text_width = max([cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0]
                      for text in lines] + [60])
    panel_width = text_width + 36
    height = max(image.shape[0], line_height * len(lines) + 12)
    canvas = np.full((height, image.shape[1] + panel_width, 3), 255, dtype=np.uint8)
    canvas[:image.shape[0], :image.shape[1]] = image
    x0, y = image.shape[1] + 8, 8
    if title:
        cv2.putText(canvas, title, (x0, y + 12), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
        y += line_height
    for color, text in entries:
        cv2.rectangle(canvas, (x0, y + 2), (x0 + 14, y + 14), tuple(int(c) for c in color), -1)
        cv2.rectangle(canvas, (x0, y + 2), (x0 + 14, y + 14), (60, 60, 60), 1)
        cv2.putText(canvas, text, (x0 + 20, y + 13), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
        y += line_height
    return canvas


def panoptic_segments(panoptic: np.ndarray, class_names: Sequence[str],
                      num_things: int) -> List[Tuple[np.ndarray, Color, str]]:
    """(mask, colour, label text) of every segment of a panoptic map, by descending area."""
    values, areas = np.unique(panoptic, return_counts=True)
    segments = []
    for index in np.argsort(-areas, kind='stable'):
        value = int(values[index])
        label, instance = value % INSTANCE_OFFSET, value // INSTANCE_OFFSET
        if label >= len(class_names):
            continue
        name = display_name(class_names[label])
        text = f'{name} #{instance}' if label < num_things and instance else name
        segments.append((panoptic == value, panoptic_color(value), text))
    return segments


def draw_panoptic(image: np.ndarray, panoptic: np.ndarray, class_names: Sequence[str],
                  num_things: int, alpha: float = 0.55, legend: bool = True) -> np.ndarray:
    _check_image(image, panoptic.shape)
    segments = panoptic_segments(panoptic, class_names, num_things)
    canvas = overlay_masks(image, [s[0] for s in segments], [s[1] for s in segments], alpha)
    if not legend:
        return canvas
    return add_legend(canvas, [(color, text) for _, color, text in segments], 'panoptic')


def draw_instances(image: np.ndarray, instances: Instances, alpha: float = 0.55,
                   score_thr: float = 0.0, boxes: bool = True, legend: bool = True
                   ) -> np.ndarray:
    """Instances with score >= ``score_thr``; colour by track id when present."""
    _check_image(image, instances.masks.shape[1:] if len(instances) else image.shape[:2])
    keep = [i for i in range(len(instances)) if instances.scores[i] >= score_thr]
    names = instances.names
    keys = [int(instances.ids[i]) if instances.ids is not None else i for i in keep]
    colors = [color_for(1000 + key) for key in keys]
    canvas = overlay_masks(image, [instances.masks[i] for i in keep], colors, alpha)
    entries = []
    for i, color, key in zip(keep, colors, keys):
        if boxes:
            x1, y1, x2, y2 = (int(round(v)) for v in instances.boxes[i])
            cv2.rectangle(canvas, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), color, 1)
        track = f' #{key}' if instances.ids is not None else ''
        entries.append((color, f'{names[i]}{track} {instances.scores[i]:.2f}'))
    return add_legend(canvas, entries, 'instances') if legend else canvas


def draw_semantic(image: np.ndarray, semantic: np.ndarray, class_names: Sequence[str],
                  alpha: float = 0.55, legend: bool = True) -> np.ndarray:
    _check_image(image, semantic.shape)
    labels, areas = np.unique(semantic, return_counts=True)
    order = [int(labels[i]) for i in np.argsort(-areas, kind='stable')
             if 0 <= labels[i] < len(class_names)]
    colors = [panoptic_color(label) for label in order]
    canvas = overlay_masks(image, [semantic == label for label in order], colors, alpha)
    entries = [(color, display_name(class_names[label])) for label, color in zip(order, colors)]
    return add_legend(canvas, entries, 'semantic') if legend else canvas


def draw_prompts(image: np.ndarray, result: PromptResult, alpha: float = 0.55,
                 legend: bool = True) -> np.ndarray:
    """Prompt masks with their points (dots) and boxes (rectangles), same colour."""
    _check_image(image, result.masks.shape[1:])
    colors = [color_for(2000 + i) for i in range(len(result))]
    canvas = overlay_masks(image, list(result.masks), colors, alpha)
    for i, (x, y) in enumerate(result.points):
        cv2.circle(canvas, (int(round(x)), int(round(y))), 4, (255, 255, 255), -1)
        cv2.circle(canvas, (int(round(x)), int(round(y))), 3, colors[i], -1)
    for j, (x1, y1, x2, y2) in enumerate(result.boxes):
        color = colors[len(result.points) + j]
        cv2.rectangle(canvas, (int(x1), int(y1)), (int(x2) - 1, int(y2) - 1), color, 2)
    entries = [(color, f'prompt {i}: {name} {score:.2f}')
               for i, (color, name, score) in enumerate(zip(colors, result.names,
                                                            result.scores))]
    return add_legend(canvas, entries, 'prompts') if legend else canvas


def draw_vos(image: np.ndarray, vos: np.ndarray, alpha: float = 0.55,
             legend: bool = True) -> np.ndarray:
    """A video-object-segmentation id map (0 = background); colours follow the object id."""
    _check_image(image, vos.shape)
    ids = [int(i) for i in np.unique(vos) if i != 0]
    colors = [color_for(3000 + i) for i in ids]
    canvas = overlay_masks(image, [vos == i for i in ids], colors, alpha)
    entries = [(color, f'object {i}') for i, color in zip(ids, colors)]
    return add_legend(canvas, entries, 'objects') if legend else canvas


def draw_result(image: np.ndarray, result: Union[ImageResult, PromptResult],
                task: Optional[str] = None, **kwargs) -> np.ndarray:
    """Draw one result: a prompt result, or the ``task`` field of an image result (default:
    panoptic, else instances, else semantic)."""
    if isinstance(result, PromptResult):
        return draw_prompts(image, result, **kwargs)
    fields = dict(panoptic=result.panoptic, instance=result.instances, semantic=result.semantic)
    if task is None:
        task = next((name for name, value in fields.items() if value is not None), None)
    if task not in fields or fields[task] is None:
        raise ValueError(f'the result has no {task!r} output (has '
                         f'{[name for name, value in fields.items() if value is not None]})')
    if task == 'panoptic':
        return draw_panoptic(image, result.panoptic, result.class_names, result.num_things,
                             **kwargs)
    if task == 'instance':
        return draw_instances(image, result.instances, **kwargs)
    return draw_semantic(image, result.semantic, result.class_names, **kwargs)


def save_image(path: Union[str, Path], image: np.ndarray) -> Path:
    """Write an RGB image (PNG / JPEG by suffix); parent folders are created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(target), np.ascontiguousarray(image[..., ::-1])):
        raise OSError(f'cannot write image {target}')
    return target
