"""A local web page for an OMG-Seg model: images (panoptic / instance / semantic, editable
vocabulary, downloads), clicks and boxes, videos (stable ids, VOS). Runs on the CPU.

    python tools/web_demo.py CONFIG --checkpoint CKPT [--host 127.0.0.1] [--port 7860]
        [--device cpu] [--max-video-frames 100] [--cfg-options KEY=VALUE ...]
    python tools/web_demo.py CONFIG --random-weights     # smoke test only

Without --checkpoint it refuses to start (unless --random-weights). The code lives in
seg/apis/web_demo/.
"""
import sys

from seg.apis.web_demo.cli import main

if __name__ == '__main__':
    sys.exit(main())
