"""Convert published OMG-Seg checkpoints into this code base's checkpoint layout.

Every source entry is accounted for: mapped to a parameter of the target model (renamed where
the names differ, see :mod:`seg.checkpoint.key_mapping`), dropped with a stated reason (buffers
that are rebuilt from the config, prompt parameters a config without prompts has no place
for, the CLIP text tower), or reported as unknown. Shapes are checked against the model the
target config builds, and the result is loaded into that model with ``strict=True`` before it
is written.
"""
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from .key_mapping import PROMPT_DROP_REASON, drop_reason, is_prompt_key, rename_key
from .reading import CheckpointContent, read_checkpoint_weights
from .target import SegmentorWeights

PathLike = Union[str, os.PathLike]
CONVERTED_FORMAT = 'omgseg-converted-checkpoint/1'
_SHOWN = 12


class CheckpointConversionError(ValueError):
    """The source checkpoint does not fit the target model; the message lists why."""


@dataclass
class ConversionReport:
    """How the source entries were turned into the target state dict."""
    num_target: int = 0
    mapped: Dict[str, str] = field(default_factory=dict)  # source key -> target key
    dropped: Dict[str, str] = field(default_factory=dict)  # source key -> reason
    unknown: List[str] = field(default_factory=list)  # source keys without a target
    missing: List[str] = field(default_factory=list)  # target keys without a source
    shape_mismatch: List[Tuple[str, Tuple[int, ...], Tuple[int, ...]]] = field(
        default_factory=list)  # (target key, source shape, target shape)
    duplicates: Dict[str, List[str]] = field(default_factory=dict)  # target -> source keys

    @property
    def renamed(self) -> Dict[str, str]:
        return {src: dst for src, dst in self.mapped.items() if src != dst}

    def problems(self, allow_unknown: bool = False) -> List[str]:
        """Human-readable reasons why the conversion cannot be used (empty when it can)."""
        problems = []
        if self.missing:
            hint = ''
            if any(is_prompt_key(key) for key in self.missing):
                hint = (' (the source has no prompt parameters: use a target config with '
                        'model.prompt_encoder=None)')
            problems.append(f'{len(self.missing)} target parameters have no source entry'
                            f'{hint}: {_preview(self.missing)}')
        if self.shape_mismatch:
            shown = [f'{key} (source {src}, target {dst})' for key, src, dst in self.shape_mismatch]
            problems.append(f'{len(shown)} entries have another shape than the target config '
                            f'expects (wrong config for this checkpoint?): {_preview(shown)}')
        if self.duplicates:
            shown = [f'{dst} <- {srcs}' for dst, srcs in self.duplicates.items()]
            problems.append(f'{len(shown)} target parameters are given twice: {_preview(shown)}')
        if self.unknown and not allow_unknown:
            problems.append(f'{len(self.unknown)} source entries are unknown to this converter '
                            f'(pass allow_unknown / --allow-unknown to drop them): '
                            f'{_preview(self._unknown_shown())}')
        return problems

    def _unknown_shown(self) -> List[str]:
        return [key if rename_key(key) == key else f'{key} (as {rename_key(key)})'
                for key in self.unknown]

    def summary(self) -> str:
        lines = [f'{len(self.mapped)} of {self.num_target} target parameters mapped '
                 f'({len(self.renamed)} renamed)']
        if self.renamed:
            examples = list(self.renamed.items())[:3]
            lines.append('  renamed, e.g. ' + '; '.join(f'{a} -> {b}' for a, b in examples))
        by_reason: Dict[str, List[str]] = {}
        for key, reason in self.dropped.items():
            by_reason.setdefault(reason, []).append(key)
        for reason, keys in by_reason.items():
            lines.append(f'  dropped {len(keys)}: {reason}: {_preview(keys, 4)}')
        if self.unknown:
            lines.append(f'  unknown {len(self.unknown)}: {_preview(self._unknown_shown())}')
        if self.missing:
            lines.append(f'  missing {len(self.missing)}: {_preview(self.missing)}')
        for key, src, dst in self.shape_mismatch[:_SHOWN]:
            lines.append(f'  shape mismatch {key}: source {src}, target {dst}')
        return '\n'.join(lines)


def _preview(items: Sequence[str], limit: int = _SHOWN) -> str:
    items = list(items)
    shown = ', '.join(items[:limit])
    return shown + (f', ... ({len(items) - limit} more)' if len(items) > limit else '')


def convert_state_dict(source: Mapping[str, torch.Tensor],
                       target_shapes: Mapping[str, Sequence[int]]
                       ) -> Tuple[Dict[str, torch.Tensor], ConversionReport]:
    """Map a source state dict onto ``target_shapes`` (``{name: shape}`` of the target model).

    Returns the converted state dict (entries that map with the right shape) and the report;
    the caller decides whether :meth:`ConversionReport.problems` are fatal.
    """
    report = ConversionReport(num_target=len(target_shapes))
    converted: Dict[str, torch.Tensor] = {}
    sources_of: Dict[str, List[str]] = {}
    for key, value in source.items():
        new_key = rename_key(key)
        if new_key in target_shapes:
            sources_of.setdefault(new_key, []).append(key)
            expected = tuple(target_shapes[new_key])
            if tuple(value.shape) != expected:
                report.shape_mismatch.append((new_key, tuple(value.shape), expected))
                continue
            converted[new_key] = value
            report.mapped[key] = new_key
        elif is_prompt_key(new_key):
            report.dropped[key] = PROMPT_DROP_REASON
        elif drop_reason(new_key) is not None:
            report.dropped[key] = drop_reason(new_key)
        else:
            report.unknown.append(key)
    report.duplicates = {dst: srcs for dst, srcs in sources_of.items() if len(srcs) > 1}
    mismatched = {key for key, _, _ in report.shape_mismatch}
    report.missing = [key for key in target_shapes
                      if key not in converted and key not in mismatched]
    return converted, report


def convert_checkpoint(src: PathLike, dst: Optional[PathLike], model_cfg: Mapping,
                       allow_unknown: bool = False,
                       content: Optional[CheckpointContent] = None
                       ) -> Tuple[Dict[str, torch.Tensor], ConversionReport]:
    """Read ``src``, convert it for the model of ``model_cfg`` and write ``dst`` (if given).
    ``content``: ``src`` already read by :func:`read_checkpoint_weights`.

    The written file is a checkpoint dict (``state_dict`` + plain-type ``meta``) that loads with
    ``torch.load(weights_only=True)`` and ``load_state_dict(strict=True)`` into the model the
    config builds.

    Raises:
        FileNotFoundError / ValueError: unreadable source (see ``read_checkpoint_weights``).
        CheckpointConversionError: missing, reshaped, duplicated or (unless ``allow_unknown``)
            unknown entries; the message holds the full report.
    """
    content = content or read_checkpoint_weights(src)
    target = SegmentorWeights(model_cfg)
    converted, report = convert_state_dict(content.state_dict, target.state_shapes())
    problems = report.problems(allow_unknown)
    if problems:
        raise CheckpointConversionError(
            f'cannot convert {src} for this model config:\n- ' + '\n- '.join(problems)
            + '\n' + report.summary())
    target.check_loads(converted)
    if dst is not None:
        meta = dict(format=CONVERTED_FORMAT, converted_from=Path(src).name,
                    source_container=content.container,
                    backbone=str(model_cfg['backbone'].get('model_name')),
                    prompt_encoder=model_cfg.get('prompt_encoder') is not None,
                    dropped=dict(report.dropped), unknown_dropped=list(report.unknown))
        save_checkpoint(dst, converted, meta)
    return converted, report


def save_checkpoint(path: PathLike, state_dict: Mapping[str, torch.Tensor], meta: dict) -> Path:
    """Write ``dict(state_dict=..., meta=...)`` atomically (temporary file, then rename)."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().cpu().contiguous() for key, value in state_dict.items()}
    handle, tmp_name = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.tmp',
                                        dir=target.parent)
    try:
        with os.fdopen(handle, 'wb') as file:
            torch.save(dict(state_dict=tensors, meta=meta), file)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def describe_source(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, object]:
    """What a source state dict says about its model: ``stem_channels`` (ConvNeXt width:
    192 = ConvNeXt-L, 384 = XXL; None when absent) and ``has_prompt_parameters``."""
    renamed = {rename_key(key): value for key, value in state_dict.items()}
    stem = renamed.get('backbone.stem.0.weight')
    return dict(stem_channels=None if stem is None else int(stem.shape[0]),
                has_prompt_parameters=any(is_prompt_key(key) for key in renamed))


def load_converted_weights(model: torch.nn.Module, path: PathLike,
                           allow_unknown: bool = False) -> ConversionReport:
    """Load a converted or a published checkpoint into ``model`` (``strict=True``).

    Published files are converted in memory on the way (same rules as
    :func:`convert_checkpoint`); prompt parameters the model has no place for are dropped.
    """
    content = read_checkpoint_weights(path)
    target_shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    converted, report = convert_state_dict(content.state_dict, target_shapes)
    problems = report.problems(allow_unknown)
    if problems:
        raise CheckpointConversionError(
            f'checkpoint {path} does not fit the model:\n- ' + '\n- '.join(problems))
    model.load_state_dict(converted, strict=True)
    return report
