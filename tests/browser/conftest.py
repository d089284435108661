"""Real headless Chromium (Debian's ``chromium``) driven by Playwright against a live server.
Never ``playwright install``: the browser comes from the system package."""

import contextlib
import os
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app
from tests.conftest import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian package chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@contextlib.contextmanager
def _served(database_url, tmp_path, host, **overrides):
    """(app, base_url) of a provider on a free loopback port, its issuer at ``host``."""
    url = database_url or f"sqlite:///{tmp_path / 'browser.db'}"
    server = make_server("127.0.0.1", 0, None, threaded=True)
    base = f"http://{host}:{server.server_port}"
    server.app = make_app(url, ISSUER=base, **overrides)
    serve_in_thread(server)
    try:
        yield server.app, base
    finally:
        server.shutdown()


@pytest.fixture
def live(database_url, tmp_path):
    with _served(database_url, tmp_path, "127.0.0.1") as served:
        yield served


@pytest.fixture
def live_with_registry(database_url, tmp_path):
    """Like ``live``, with the development registry and face service mounted (as ``make run``
    does) and used over HTTP."""
    with _served(database_url, tmp_path, "127.0.0.1", DEV_REGISTRY_MOUNT=True) as served:
        yield served


@pytest.fixture
def live_localhost(database_url, tmp_path):
    """Like ``live``, with the issuer at http://localhost:<port>: WebAuthn's RP ID is the
    issuer's host, and Chromium refuses an IP address as an RP ID ("This is an invalid
    domain") while it treats localhost as a secure context."""
    with _served(database_url, tmp_path, "localhost") as served:
        yield served


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/cb"):
            self.server.seen.append(f"http://127.0.0.1:{self.server.server_port}{self.path}")
        body = b"<!doctype html><title>RP</title><p>relying party callback</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def relying_party():
    """(callback URL, list of callback URLs received): a relying party's redirect endpoint."""
    server = HTTPServer(("127.0.0.1", 0), _Callback)
    server.seen = []
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_port}/cb", server.seen
    server.shutdown()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()
