"""A local web page for every task of the :class:`~seg.apis.Predictor` (``tools/web_demo.py``).

Image segmentation (panoptic / instance / semantic, editable vocabulary, downloads), click and
box prompts, and video segmentation (stable ids, VOS from first-frame objects). The server is
the standard library's ``http.server`` with a plain HTML / JavaScript page (``static/``): no
extra dependency.

    from seg.apis.web_demo import DemoApp, make_server
    server = make_server(DemoApp(predictor), '127.0.0.1', 0)
    print(server.url)
    server.serve_forever()
"""
from .app import DemoApp
from .codec import DemoError, DemoLimits
from .server import DemoServer, make_server

__all__ = ['DemoApp', 'DemoError', 'DemoLimits', 'DemoServer', 'make_server']
