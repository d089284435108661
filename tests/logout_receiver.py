"""A platform's back-channel logout endpoint for tests: records every POST (its content type
and form fields) and answers with ``status``. It can be stopped and started again on the same
port, as a platform that goes down and comes back."""

import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.server.owner.received.append({
            "path": self.path, "content_type": self.headers.get("Content-Type"),
            "fields": {k: v[0] for k, v in parse_qs(body).items()}})
        status = self.server.owner.status
        self.send_response(status)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class LogoutReceiver:
    """``url`` (http://127.0.0.1:<port>/backchannel), ``received`` (the POSTs), ``status``
    (what it answers), ``stop()`` and ``start()`` (on the same port)."""

    def __init__(self, status=200):
        self.status = status
        self.received = []
        self._server = None
        self.port = 0
        self.start()
        self.url = f"http://127.0.0.1:{self.port}/backchannel"

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.owner = self
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def tokens(self):
        return [r["fields"].get("logout_token") for r in self.received]
