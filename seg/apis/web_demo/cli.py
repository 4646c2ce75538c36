"""Command line of the web demo (``tools/web_demo.py``).

    python tools/web_demo.py CONFIG --checkpoint CKPT [--host 127.0.0.1] [--port 7860]
        [--device cpu] [--max-video-frames 100]
    python tools/web_demo.py CONFIG --random-weights   # smoke test: masks mean nothing

Serves the page at http://HOST:PORT/ until Ctrl-C. Binds to the loopback interface unless
``--host`` says otherwise (the demo has no authentication).
"""
import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import Optional, Sequence

from mmengine.config import DictAction

LOOPBACK = ('127.0.0.1', 'localhost', '::1')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='tools/web_demo.py',
        description='A local web page to segment images (panoptic / instance / semantic, '
                    'clicks and boxes) and videos (stable ids, VOS) with an OMG-Seg model.')
    parser.add_argument('config', help='model config (e.g. configs/toy/omg_toy_interactive.py)')
    parser.add_argument('--checkpoint', help='weights: a converted checkpoint, a published '
                        'OMG-Seg file or one written by tools/train.py')
    parser.add_argument('--random-weights', action='store_true',
                        help='run without a checkpoint, on random weights (smoke tests only: '
                        'the masks mean nothing)')
    parser.add_argument('--host', default='127.0.0.1',
                        help='interface to listen on (default 127.0.0.1: this machine only)')
    parser.add_argument('--port', type=int, default=7860,
                        help='port (default 7860; 0 = any free port)')
    parser.add_argument('--device', default='cpu', help='cpu (default), cuda, cuda:1...')
    parser.add_argument('--max-video-frames', type=int, default=100,
                        help='longest clip accepted, in frames (default 100)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries (mmengine syntax, e.g. '
                        'model.test_cfg.max_per_image=50)')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.checkpoint is None and not args.random_weights:
        parser.error('no --checkpoint given: the demo would run a model with random weights, '
                     'whose masks mean nothing. Pass --checkpoint CKPT (README: "Use the '
                     'released models", or a checkpoint from tools/train.py), or '
                     '--random-weights for a smoke test.')
    if args.checkpoint is not None and args.random_weights:
        parser.error('give --checkpoint or --random-weights, not both')
    if not Path(args.config).is_file():
        parser.error(f'config file not found: {args.config}')
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f'checkpoint file not found: {args.checkpoint}')
    if not 0 <= args.port <= 65535:
        parser.error(f'--port must lie in 0..65535, got {args.port}')
    if args.max_video_frames < 1:
        parser.error(f'--max-video-frames must be at least 1, got {args.max_video_frames}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(asctime)s %(levelname)s %(message)s')

    from seg.apis import Predictor
    from .app import DemoApp
    from .codec import DemoLimits
    from .server import make_server

    with warnings.catch_warnings():
        if args.random_weights:  # asked for; said once below
            warnings.filterwarnings('ignore', message='.*without a checkpoint')
        predictor = Predictor.from_config(args.config, args.checkpoint, device=args.device,
                                          cfg_options=args.cfg_options)
    weights = 'random weights' if args.random_weights else Path(args.checkpoint).name
    app = DemoApp(predictor, DemoLimits(max_video_frames=args.max_video_frames),
                  description=f'{Path(args.config).name} · {weights} · {args.device}',
                  random_weights=args.random_weights)
    try:
        server = make_server(app, args.host, args.port)
    except OSError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    if args.host not in LOOPBACK:
        print(f'warning: listening on {args.host}: the demo has no authentication, anyone who '
              'reaches this address can use it', file=sys.stderr)
    if args.random_weights:
        print('warning: --random-weights: the masks mean nothing (smoke test)', file=sys.stderr)
    print(f'OMG-Seg web demo: {server.url} (Ctrl-C to stop)', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
