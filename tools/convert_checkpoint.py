"""Convert a published OMG-Seg checkpoint to this code base's layout.

    python tools/convert_checkpoint.py SRC DST [--config CONFIG] [--allow-unknown]

SRC: ``omg_seg_convl.pth``, ``omg_seg_convxxl.pth``, ``m2_convl_12e.pth`` (MMEngine checkpoint
dicts or bare state dicts; read with ``torch.load(weights_only=True)``, nothing in the file is
executed). Without ``--config`` the paper model is chosen from the file: ConvNeXt-L or -XXL by
the backbone width, prompt parameters kept when the file has them. Every entry of SRC is
mapped, dropped with a reason, or reported; shapes are checked and the result is loaded with
``strict=True`` into the config's model (on the meta device: no memory) before DST is written.
"""
import argparse
import sys
from pathlib import Path
from typing import Optional

from mmengine.config import Config

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER_MODEL_CONFIGS = {
    192: REPO_ROOT / 'configs' / '_base_' / 'models' / 'omg_convl.py',
    384: REPO_ROOT / 'configs' / '_base_' / 'models' / 'omg_convxxl.py',
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='published checkpoint (.pth)')
    parser.add_argument('dst', help='converted checkpoint to write')
    parser.add_argument('--config', help='config whose model the result must fit (default: '
                        'the paper ConvNeXt-L / XXL model, detected from SRC)')
    parser.add_argument('--allow-unknown', action='store_true',
                        help='drop (and list) source entries this converter does not know '
                        'instead of failing')
    return parser.parse_args(argv)


def model_config_for(src_state: dict, config: Optional[str]) -> dict:
    """The ``model`` dict to convert for: ``config``'s, or the paper model matching SRC."""
    from seg.checkpoint import describe_source
    source = describe_source(src_state)
    if config is not None:
        return Config.fromfile(config).model.to_dict()
    width = source['stem_channels']
    if width not in PAPER_MODEL_CONFIGS:
        raise ValueError(
            f'cannot tell the paper model of this checkpoint (backbone stem width {width}; '
            f'known: {sorted(PAPER_MODEL_CONFIGS)} = ConvNeXt-L / XXL): pass --config')
    model = Config.fromfile(str(PAPER_MODEL_CONFIGS[width])).model.to_dict()
    if not source['has_prompt_parameters']:
        model['prompt_encoder'] = None
    elif model.get('prompt_encoder') is None:
        model['prompt_encoder'] = dict(type='PromptEncoder')
    return model


def main(argv=None) -> int:
    args = parse_args(argv)
    from seg.checkpoint import convert_checkpoint, read_checkpoint_weights
    src, dst = Path(args.src), Path(args.dst)
    if dst.exists() and dst.resolve() == src.resolve():
        raise ValueError(f'DST must differ from SRC ({src})')
    content = read_checkpoint_weights(src)
    print(f'{src}: {len(content.state_dict)} tensors ({content.container}'
          + (f'; also {", ".join(content.other_entries)}' if content.other_entries else '')
          + ')')
    model_cfg = model_config_for(content.state_dict, args.config)
    head = model_cfg['panoptic_head']
    print(f'target model: backbone {model_cfg["backbone"].get("model_name")}, '
          f'{head.get("num_queries")} queries, prompt parameters '
          f'{"on" if model_cfg.get("prompt_encoder") is not None else "off"}')
    _, report = convert_checkpoint(src, dst, model_cfg, allow_unknown=args.allow_unknown,
                                   content=content)
    print(report.summary())
    print(f'loads with strict=True; written to {dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
