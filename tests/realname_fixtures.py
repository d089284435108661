"""The development registry and face service on a real loopback port, for any test that needs
the real-name services over HTTP. Use it with ``pytest_plugins = ["tests.realname_fixtures"]``
in a test module (``start_dev_registry(...)`` for other settings or a ``prefix``)::

    def test_something(dev_registry):
        verifier = HttpRegistryVerifier(dev_registry.url, "gov-idp", dev_registry.secret)

``dev_registry.faults`` makes the service misbehave on its ``/v1/`` API (counting every call
in ``calls``): ``fail_next`` answers (``fail_status``, default 503), a ``delay`` before each
answer, or an ``answer`` mode: ``unsigned`` (no ``X-Signature``), ``forged`` (signed with
another key), ``tampered`` (``mismatch``/``not_found`` turned into ``match`` under the real
signature), ``stale`` (an ``X-Timestamp`` an hour old) or ``replay`` (the previous signed
answer again)."""

import contextlib
import csv
import io
import threading
import time
from dataclasses import dataclass
from dataclasses import field

import pytest
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from idp.realname.devregistry import DEFAULT_PEOPLE
from idp.realname.devregistry import create_registry_app
from idp.signed_http import signature
from tests.conftest import serve_in_thread

SECRET = "dev-registry-secret-for-tests-0123456789abcdef"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, *args, **kwargs):
        pass  # a client that gave up on a slow answer: expected in the timeout tests


@dataclass
class Faults:
    """WSGI middleware in front of the service; see the module docstring."""

    app: object
    calls: int = 0
    fail_next: int = 0
    fail_status: int = 503
    delay: float = 0.0
    answer: str | None = None
    last: tuple | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        if "/v1/" not in environ.get("PATH_INFO", ""):
            return self.app(environ, start_response)
        with self.lock:
            self.calls += 1
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
        if self.delay:
            time.sleep(self.delay)
        if failing:
            start_response(f"{self.fail_status} Injected", [("Content-Type", "application/json"),
                                                            ("Content-Length", "2")])
            return [b"{}"]
        if self.answer == "replay" and self.last:
            status, headers, body = self.last
        else:
            status, headers, body = self._call(environ)
            self.last = (status, headers, body)
        status, headers, body = self._mangle(status, headers, body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]

    def _call(self, environ):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=list(headers))

        body = b"".join(self.app(environ, capture))
        return captured["status"], captured["headers"], body

    def _mangle(self, status, headers, body):
        mode = self.answer
        if mode == "unsigned":
            headers = [(k, v) for k, v in headers if k.lower() != "x-signature"]
        elif mode == "forged":
            headers = [(k, signature("not-the-secret", body) if k.lower() == "x-signature"
                        else v) for k, v in headers]
        elif mode == "tampered":
            body = body.replace(b'"mismatch"', b'"match"').replace(b'"not_found"', b'"match"')
        elif mode == "stale":
            old = str(int(time.time()) - 3600)
            headers = [(k, old if k.lower() == "x-timestamp" else v) for k, v in headers]
        return status, headers, body


@dataclass
class DevRegistry:
    url: str
    secret: str
    app: object
    faults: Faults
    server: object

    @property
    def people(self):
        """The shipped synthetic people as dicts (name, doc_type, number)."""
        return shipped_people()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def shipped_people():
    with open(DEFAULT_PEOPLE, encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines))))


def wsgi_server_for(wsgi_app):
    """A threaded werkzeug server for ``wsgi_app`` on a free loopback port (not started)."""
    return make_server("127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_QuietHandler)


@contextlib.contextmanager
def running_dev_registry(secret=SECRET, people_csv=None, face_outcome="ask", prefix=""):
    """The development service (standalone, or mounted under ``prefix`` in a bare Flask app)
    on a free loopback port, stopped afterwards."""
    if prefix:
        from flask import Flask

        from idp.realname.devregistry import bp

        app = Flask("mounted")
        app.config.update(DEV_REGISTRY_SECRET=secret, DEV_REGISTRY_PEOPLE=people_csv,
                          DEV_REGISTRY_FACE_OUTCOME=face_outcome, ENV_NAME="testing")
        app.register_blueprint(bp, url_prefix=prefix)
    else:
        app = create_registry_app(people_csv, secret=secret, face_outcome=face_outcome)
    faults = Faults(app.wsgi_app)
    app.wsgi_app = faults
    server = serve_in_thread(wsgi_server_for(app))
    registry = DevRegistry(f"http://127.0.0.1:{server.server_port}{prefix}", secret, app,
                           faults, server)
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture
def dev_registry():
    """The development registry and face service on a loopback port (``.url``, ``.secret``,
    ``.app`` whose config may be changed, ``.faults``)."""
    with running_dev_registry() as registry:
        yield registry


@pytest.fixture
def start_dev_registry():
    """``start_dev_registry(secret=..., people_csv=..., face_outcome=..., prefix=...)``: more
    development services, all stopped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda **kwargs: stack.enter_context(running_dev_registry(**kwargs))


@pytest.fixture
def wsgi_server(start_server):
    """``wsgi_server(wsgi_app)``: any WSGI app on a loopback port (``.server_port``), stopped
    after the test."""
    return lambda wsgi_app: start_server(wsgi_server_for(wsgi_app))
