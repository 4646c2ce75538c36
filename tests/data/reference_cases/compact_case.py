"""Compact copies of the reference cases of ``../shared/reference_outputs`` (issue 19).

A full case folder (``omgseg-reference-case/1``, e.g. ``case_small``: 23 MB) is too large to
commit; its compact copy (``tests/data/reference_cases/<case>/``, ~2.5 MB) keeps what
``tools/reference_check.py`` reads, at the case's own tolerances:

* ``state_dict.pth`` (15 MB of deterministic random weights) is replaced by the recipe of the
  case README (section 4: salt, per-key init kind) and, per key, the float64 sum, absolute sum
  and eight sampled values of the reference tensor, plus the SHA-256 of its float32 bytes;
* ``inputs.pth`` and ``out_*.pth`` are stored xz-compressed; the pixel-decoder outputs of
  ``out_semantic.pth`` / ``out_video.pth`` (optional keys of the check, covered by
  ``tests/data/reference_small/pixel_decoder_io.pth``) are left out;
* ``case.json``, ``text_classifier.pth`` and ``nonpersistent_buffers.pth`` are copied as they are.

:func:`materialise` rebuilds a case folder the check reads like the original; the regenerated
weights must match the stored fingerprints (bit-identical on x86-64, where the case was
produced; on a platform whose ``torch.randn`` rounds differently in the last bit the sums and
samples still agree to 1e-6 relative, far inside the case's 1e-6 weight-perturbation probe).

    python tests/data/reference_cases/compact_case.py FULL_CASE_DIR OUT_DIR SALT   # (re)build
"""
import hashlib
import json
import lzma
import math
import shutil
import sys
import zlib
from pathlib import Path
from typing import Dict, List

import torch

COMPACT_FORMAT = 'omgseg-reference-case-compact/1'
COPIED_FILES = ('case.json', 'text_classifier.pth', 'nonpersistent_buffers.pth')
COMPRESSED_FILES = ('inputs.pth', 'out_semantic.pth', 'out_prompt.pth', 'out_video.pth',
                    'out_postproc.pth', 'out_openvoc.pth')
DROPPED_KEYS = {
    'out_semantic.pth': ('pixel_decoder_mask_features', 'pixel_decoder_multi_scale_memorys'),
    'out_video.pth': ('pixel_decoder_mask_features', 'pixel_decoder_multi_scale_memorys'),
}
# README section 4: transformer-decoder residual-branch outputs get an extra factor.
RESIDUAL_SUFFIXES = ('self_attn.attn.out_proj.weight', 'cross_attn.attn.out_proj.weight',
                     'ffn.layers.1.weight')
RESIDUAL_SCOPE = 'transformer_decoder'
RESIDUAL_SCALE = 0.3
SAMPLES_PER_TENSOR = 8
FINGERPRINT_RTOL = 1e-6


def recipe_tensor(salt: str, key: str, shape: List[int], kind: str) -> torch.Tensor:
    """One state-dict entry of the case's deterministic weights (case README, section 4)."""
    generator = torch.Generator().manual_seed(zlib.crc32(f'{salt}:{key}'.encode()))
    z = torch.randn(tuple(shape), generator=generator)
    if kind == 'matrix':
        fan_in = math.prod(shape[1:])
        value = z * (1 / math.sqrt(fan_in))
        rows = value.reshape(shape[0], -1)
        value = (rows - rows.mean(1, keepdim=True)).reshape(tuple(shape))
        if RESIDUAL_SCOPE in key and key.endswith(RESIDUAL_SUFFIXES):
            value = value * RESIDUAL_SCALE
        return value
    if kind == 'embedding':
        return z
    if kind == 'norm_weight':
        return 1 + 0.1 * z
    if kind in ('norm_bias', 'bias'):
        return 0.02 * z
    if kind == 'vector':
        return 0.5 + 0.1 * z
    raise ValueError(f'weight {key!r}: unknown init kind {kind!r}')


def _sample_indices(numel: int) -> List[int]:
    return sorted({(i * 7919) % numel for i in range(SAMPLES_PER_TENSOR)})


def fingerprint(value: torch.Tensor) -> Dict[str, object]:
    flat = value.detach().reshape(-1)
    return dict(sha256=hashlib.sha256(flat.contiguous().numpy().tobytes()).hexdigest(),
                sum=flat.double().sum().item(), abs_sum=flat.double().abs().sum().item(),
                samples=[[index, flat[index].item()] for index in _sample_indices(flat.numel())])


def _read_keys(keys_file: Path) -> Dict[str, dict]:
    entries = {}
    for line in keys_file.read_text().splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        key, shape, dtype, kind = line.split('\t')
        entries[key] = dict(shape=[int(n) for n in shape.strip('()').split(',') if n.strip()],
                            dtype=dtype, kind=kind)
    return entries


def build(full_case: Path, out_dir: Path, salt: str) -> None:
    """Write the compact copy of ``full_case`` (needs the full folder, e.g. ../shared)."""
    state_dict = torch.load(full_case / 'state_dict.pth', weights_only=True)
    keys = _read_keys(full_case / 'keys.txt')
    if list(keys) != list(state_dict):
        raise ValueError(f'{full_case}: keys.txt and state_dict.pth list different keys')
    tensors = {}
    for key, entry in keys.items():
        if entry['dtype'] != 'float32':
            raise ValueError(f'{full_case}: weight {key!r} is {entry["dtype"]}, the recipe '
                             'makes float32 only')
        regenerated = recipe_tensor(salt, key, entry['shape'], entry['kind'])
        if not torch.equal(regenerated, state_dict[key]):
            raise ValueError(f'{full_case}: the recipe with salt {salt!r} does not reproduce '
                             f'weight {key!r}')
        tensors[key] = dict(entry, **fingerprint(state_dict[key]))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        shutil.copyfile(full_case / name, out_dir / name)
    files = {}
    for name in COMPRESSED_FILES:
        data = (full_case / name).read_bytes()
        dropped = DROPPED_KEYS.get(name, ())
        if dropped:
            content = torch.load(full_case / name, weights_only=True)
            for key in dropped:
                content.pop(key)
            scratch = out_dir / f'.{name}.tmp'
            torch.save(content, scratch)
            data = scratch.read_bytes()
            scratch.unlink()
        (out_dir / f'{name}.xz').write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
        files[name] = dict(stored_as=f'{name}.xz', dropped_keys=list(dropped),
                           sha256=hashlib.sha256(data).hexdigest())
    manifest = dict(format=COMPACT_FORMAT, source=str(full_case.name),
                    state_dict=dict(salt=salt, residual_scope=RESIDUAL_SCOPE,
                                    residual_suffixes=list(RESIDUAL_SUFFIXES),
                                    residual_scale=RESIDUAL_SCALE, tensors=tensors),
                    files=files)
    (out_dir / 'compact.json').write_text(json.dumps(manifest, indent=1) + '\n')


def _check_weight(compact_dir: Path, key: str, value: torch.Tensor, entry: dict) -> bool:
    """True when bit-identical; True with a fingerprint match within FINGERPRINT_RTOL when
    not (a platform whose randn differs in the last bit); raises otherwise."""
    if fingerprint(value)['sha256'] == entry['sha256']:
        return True
    flat = value.reshape(-1).double()
    scale = max(entry['abs_sum'] / max(flat.numel(), 1), 1e-12)
    problems = []
    for name, ours in (('sum', flat.sum().item()), ('abs_sum', flat.abs().sum().item())):
        if abs(ours - entry[name]) > FINGERPRINT_RTOL * entry['abs_sum'] + 1e-9:
            problems.append(f'{name} {ours!r} != {entry[name]!r}')
    for index, expected in entry['samples']:
        if abs(flat[index].item() - expected) > FINGERPRINT_RTOL * max(abs(expected), scale):
            problems.append(f'value [{index}] {flat[index].item()!r} != {expected!r}')
    if problems:
        raise ValueError(f'{compact_dir / "compact.json"}: regenerated weight {key!r} does not '
                         f'match the reference: {"; ".join(problems)}')
    return False


def materialise(compact_dir: Path, target: Path) -> Dict[str, int]:
    """Rebuild a full case folder from a compact copy into ``target`` (created).

    Returns counts: ``weights`` regenerated, ``bit_identical`` among them, ``files`` written.
    Raises ``FileNotFoundError`` / ``ValueError`` naming the compact file that is wrong.
    """
    manifest_file = compact_dir / 'compact.json'
    if not manifest_file.is_file():
        raise FileNotFoundError(f'compact reference case lacks {manifest_file}')
    manifest = json.loads(manifest_file.read_text())
    if manifest.get('format') != COMPACT_FORMAT:
        raise ValueError(f'{manifest_file}: format {manifest.get("format")!r}, expected '
                         f'{COMPACT_FORMAT!r}')
    target.mkdir(parents=True, exist_ok=True)
    recipe = manifest['state_dict']
    if (recipe['residual_scope'], tuple(recipe['residual_suffixes']),
            recipe['residual_scale']) != (RESIDUAL_SCOPE, RESIDUAL_SUFFIXES, RESIDUAL_SCALE):
        raise ValueError(f'{manifest_file}: residual-branch rule differs from this recipe')
    state_dict, identical = {}, 0
    for key, entry in recipe['tensors'].items():
        value = recipe_tensor(recipe['salt'], key, entry['shape'], entry['kind'])
        identical += _check_weight(compact_dir, key, value, entry)
        state_dict[key] = value
    torch.save(state_dict, target / 'state_dict.pth')
    for name in COPIED_FILES:
        shutil.copyfile(compact_dir / name, target / name)
    for name, entry in manifest['files'].items():
        stored = compact_dir / entry['stored_as']
        try:
            data = lzma.decompress(stored.read_bytes())
        except (OSError, lzma.LZMAError) as error:
            raise ValueError(f'{stored}: cannot decompress ({error})') from error
        if hashlib.sha256(data).hexdigest() != entry['sha256']:
            raise ValueError(f'{stored}: content differs from the sha256 in {manifest_file}')
        (target / name).write_bytes(data)
    return dict(weights=len(state_dict), bit_identical=identical,
                files=len(COPIED_FILES) + len(manifest['files']) + 1)


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit('usage: compact_case.py FULL_CASE_DIR OUT_DIR SALT (the salt of the case '
                 'README, section 4)')
    build(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
