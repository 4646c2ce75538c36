"""The web demo's HTTP server: the standard library's ``ThreadingHTTPServer``, a json API and the
page's static files (``static/``).

    server = make_server(DemoApp(predictor), host='127.0.0.1', port=7860)
    server.serve_forever()

Every error reaches the page as ``{"error": message}`` with a 4xx status (problems the user can
fix) or 500 (anything else: the message names the exception, the traceback goes to the server
log only).

Routes (``session`` comes from ``POST /api/session``):

=======  ==========================  ======================================================
method   path                        body / query -> answer
=======  ==========================  ======================================================
GET      /                           the page
GET      /static/NAME                the page's scripts and styles
POST     /api/session                -> session id, model description, vocabulary, limits
POST     /api/image                  multipart: session, file -> size, image (data URL)
POST     /api/segment                json: session, task, score_thr -> overlay, rows
GET      /api/download/WHAT          ?session (WHAT: panoptic.png, segments.json)
POST     /api/vocabulary             json: things, stuff (or reset: true) -> vocabulary
POST     /api/prompt                 json: session, action, positive, coords -> overlay, objects
POST     /api/video                  multipart: session, file(s) -> frame count, first frame
POST     /api/video/prompt           as /api/prompt on the first frame (also action=drawn, mask)
POST     /api/video/run              json: session, task, vos, score_thr -> job status
GET      /api/video/job              ?session&job -> job status (progress)
GET      /api/video/frame            ?session&job&view&index -> JPEG
GET      /api/video/download.zip     ?session&job -> the drawn frames
=======  ==========================  ======================================================
"""
import json
import logging
import mimetypes
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import List, Tuple
from urllib.parse import parse_qs, urlsplit

from .app import DemoApp
from .codec import MB, DemoError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name('static')
STATIC_SUFFIXES = ('.html', '.js', '.css', '.png', '.svg', '.ico')
MAX_JSON_BYTES = 16 * MB


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app: DemoApp):
        self.app = app
        super().__init__(address, DemoHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f'[{host}]' if ':' in host else host
        return f'http://{host}:{port}/'


def make_server(app: DemoApp, host: str = '127.0.0.1', port: int = 7860) -> DemoServer:
    """A server bound to ``host:port`` (port 0: any free port; see ``server.url``)."""
    try:
        return DemoServer((host, port), app)
    except OSError as error:
        raise OSError(f'cannot listen on {host}:{port}: {error.strerror or error} (another '
                      'program may use the port: pick another with --port, 0 = any free '
                      'port)') from None


def parse_multipart(content_type: str, body: bytes) -> Tuple[dict, List[Tuple[str, bytes]]]:
    """(text fields, [(file name, bytes)]) of a multipart/form-data body."""
    if not content_type.startswith('multipart/form-data'):
        raise DemoError(f'expected a multipart/form-data upload, got {content_type or "none"}')
    header = f'Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n'.encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise DemoError('the upload is not a readable multipart/form-data body')
    fields, files = {}, []
    for part in message.iter_parts():
        name = part.get_param('name', header='content-disposition')
        payload = part.get_payload(decode=True) or b''
        filename = part.get_filename()
        if filename is not None:
            files.append((Path(filename.replace('\\', '/')).name, payload))
        elif name:
            fields[name] = payload.decode('utf-8', errors='replace')
    return fields, files


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = 'OMGSegWebDemo'
    protocol_version = 'HTTP/1.1'

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        logger.debug('%s %s', self.address_string(), format % args)

    def log_error(self, format, *args):  # noqa: A002
        logger.warning('%s %s', self.address_string(), format % args)

    def _send(self, status: int, content: bytes, content_type: str,
              headers: Tuple[Tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(content)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('X-Content-Type-Options', 'nosniff')
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(content)

    def _json(self, content: dict, status: int = 200) -> None:
        self._send(status, json.dumps(content).encode(), 'application/json')

    def _error(self, status: int, message: str) -> None:
        self._json(dict(error=message), status)

    def _body(self, limit: int) -> bytes:
        length = self.headers.get('Content-Length')
        if length is None:
            raise DemoError('the request has no Content-Length', status=411)
        try:
            length = int(length)
        except ValueError:
            raise DemoError(f'bad Content-Length {length!r}') from None
        if length > limit:
            self._discard(length)
            raise DemoError(f'the upload is {length / MB:.1f} MB; the demo accepts at most '
                            f'{limit / MB:.0f} MB in one request', status=413)
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        """Read and drop a refused body (the browser then sees the answer, not a reset
        connection); bodies far over the limit are not read and the connection is closed."""
        if length > 4 * self.server.app.limits.max_video_bytes:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, MB))
            if not chunk:
                break
            length -= len(chunk)

    def _json_body(self) -> dict:
        body = self._body(MAX_JSON_BYTES)
        try:
            content = json.loads(body or b'{}')
        except ValueError:
            raise DemoError('the request body is not json') from None
        if not isinstance(content, dict):
            raise DemoError('the request body must be a json object')
        return content

    def _dispatch(self, routes: dict) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            handler = routes.get(url.path)
            if handler is None and url.path.startswith('/static/') and self.command == 'GET':
                return self._static(url.path[len('/static/'):])
            if handler is None:
                raise DemoError(f'no such page: {url.path}', status=404)
            handler(query)
        except DemoError as error:
            self._error(error.status, str(error))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # never a traceback in the page; it goes to the log
            logger.exception('request %s %s failed', self.command, url.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f'internal error ({type(error).__name__}: {error}); details are in the '
                        'server log')

    # ------------------------------------------------------------------ routes
    def do_GET(self):  # noqa: N802 (http.server's naming)
        app = self.server.app
        self._dispatch({
            '/': lambda q: self._static('index.html'),
            '/index.html': lambda q: self._static('index.html'),
            '/api/info': lambda q: self._json(app.info()),
            '/api/download/panoptic.png': lambda q: self._download(q, 'panoptic.png'),
            '/api/download/segments.json': lambda q: self._download(q, 'segments.json'),
            '/api/video/job': lambda q: self._json(app.video_job(q.get('session'),
                                                                 q.get('job'))),
            '/api/video/frame': lambda q: self._send(200, app.video_frame(
                q.get('session'), q.get('job'), q.get('view'), q.get('index')), 'image/jpeg'),
            '/api/video/download.zip': lambda q: self._send(
                200, app.video_zip(q.get('session'), q.get('job')), 'application/zip',
                (('Content-Disposition', 'attachment; filename="video_overlays.zip"'),)),
        })

    def do_POST(self):  # noqa: N802
        app = self.server.app
        self._dispatch({
            '/api/session': lambda q: self._json(app.new_session()),
            '/api/image': self._upload_image,
            '/api/segment': lambda q: self._json(self._call(app.segment, 'task', 'score_thr')),
            '/api/vocabulary': self._vocabulary,
            '/api/exemplar': lambda q: self._json(self._call(app.add_exemplar, 'name', 'thing')),
            '/api/prompt': lambda q: self._prompt(app.prompt),
            '/api/video': self._upload_video,
            '/api/video/prompt': lambda q: self._prompt(app.video_prompt),
            '/api/video/run': lambda q: self._json(self._call(app.start_video, 'task', 'vos',
                                                              'score_thr')),
        })

    def _call(self, method, *names):
        body = self._json_body()
        missing = [name for name in names if name not in body and name != 'score_thr']
        if missing:
            raise DemoError(f'the request lacks {", ".join(missing)}')
        values = [body[name] for name in names if name in body]
        return method(body.get('session'), *values)

    def _prompt(self, method) -> None:
        body = self._json_body()
        self._json(method(body.get('session'), body))

    def _vocabulary(self, query) -> None:
        body = self._json_body()
        app = self.server.app
        if body.get('reset'):
            return self._json(app.reset_vocabulary())
        self._json(app.set_vocabulary(body.get('things', []), body.get('stuff', [])))

    def _upload_image(self, query) -> None:
        app = self.server.app
        body = self._body(app.limits.max_image_bytes + MB)
        fields, files = parse_multipart(self.headers.get('Content-Type', ''), body)
        if len(files) != 1:
            raise DemoError(f'expected one image file, got {len(files)}')
        name, data = files[0]
        self._json(app.upload_image(fields.get('session'), data, name))

    def _upload_video(self, query) -> None:
        app = self.server.app
        body = self._body(app.limits.max_video_bytes + MB)
        fields, files = parse_multipart(self.headers.get('Content-Type', ''), body)
        self._json(app.upload_video(fields.get('session'), files))

    def _download(self, query, what: str) -> None:
        content, mime, filename = self.server.app.download(query.get('session'), what)
        self._send(200, content, mime,
                   (('Content-Disposition', f'attachment; filename="{filename}"'),))

    def _static(self, name: str) -> None:
        path = (STATIC_DIR / name).resolve()
        if (STATIC_DIR.resolve() not in path.parents or not path.is_file()
                or path.suffix not in STATIC_SUFFIXES):
            raise DemoError(f'no such file: {name}', status=404)
        mime = mimetypes.guess_type(path.name)[0] or 'application/octet-stream'
        if mime.startswith('text/') or mime == 'application/javascript':
            mime += '; charset=utf-8'
        self._send(200, path.read_bytes(), mime)
