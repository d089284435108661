"""Signed JSON calls to outside services: one client for the SMS gateway, the identity
registry and the face-verification service, and the check for the receiving side.

Transport: ``http.client`` rather than ``urllib`` so that the connect and read timeouts are
separate (urllib has one timeout for both) and so that no ``*_proxy`` environment variable
silently reroutes a call. One new connection per attempt; TLS certificates are verified
(``ssl.create_default_context()``); at most ``max_response_bytes`` of an answer are read.

Signing scheme (the same in both directions)
--------------------------------------------
Every signed message carries three headers::

    X-Signature:  sha256=<lower-case hex of HMAC-SHA256(secret, M)>
    X-Timestamp:  <Unix time in whole seconds when it was signed>
    X-Request-Id: <32 lower-case hex digits: one per call, the same on its retries>

``secret`` is the UTF-8 encoding of the configured string. ``M``, the signed bytes, is

* a request with a body (POST): the body, byte for byte as sent;
* a request without a body (GET): the request target byte for byte as sent on the request
  line — the path and, when there is a query, ``?`` and the query; e.g.
  ``/dev/registry/v1/face/sessions/3q2-x?verbose=1``. Nothing else (not the method, the host
  or the headers);
* an answer: its body, byte for byte as sent.

The receiver recomputes the HMAC (constant-time comparison) and refuses a message whose
``X-Timestamp`` is more than ``max_skew`` (300) seconds away from its clock
(``verify_signature``). ``X-Timestamp`` and ``X-Request-Id`` are *not* part of ``M`` — the SMS
gateway's contract signs the body alone — so what must not be replayed has to live in a signed
body: our request bodies carry ``request_id``, and a signed JSON answer (``signed_answers``)
must carry the caller's request id back in its ``request_id`` member, so an answer recorded
for one call can never be passed off as the answer to another.

Failures: every way a call can fail — timed out, refused or unreachable, a status outside
2xx, an answer that is not a JSON object, too large, or (with ``signed_answers``) unsigned or
wrongly signed — raises ``SignedHttpError`` with a ``kind`` and a reason that names no person.
Retries (``retries``, default none) happen only for a time-out, an unreachable service or a 5xx
answer, after ``backoff``, ``2 * backoff``, … seconds; a definite answer (any 2xx, any 4xx, a
bad signature) is never retried.

This module does not log the calls themselves (callers do, with their own wording); it logs
a warning before each retry, with the request id and the reason only.
"""

import hashlib
import hmac
import http.client
import json
import logging
import re
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idp import json_input

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
REQUEST_ID_HEADER = "X-Request-Id"
CLIENT_ID_HEADER = "X-Client-Id"
MAX_SKEW = 300
MAX_RESPONSE_BYTES = 64 * 1024

#: ``SignedHttpError.kind`` values.
TIMEOUT, UNREACHABLE, STATUS, BAD_RESPONSE, SIGNATURE = (
    "timeout", "unreachable", "status", "bad_response", "signature")


class SignedHttpError(Exception):
    """A call that gave no usable answer. ``kind`` is one of ``timeout``, ``unreachable``,
    ``status`` (``status`` holds the HTTP status), ``bad_response`` (not JSON, not an object,
    too large) or ``signature`` (an answer unsigned, wrongly signed, stale, or for another
    request); ``cause`` the class name of the underlying exception, if any; ``str()`` a short
    reason for logs, free of personal data."""

    def __init__(self, kind, reason, status=None, cause=None):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status
        self.cause = cause

    @property
    def retryable(self) -> bool:
        """A time-out, an unreachable service or a 5xx answer: worth another attempt."""
        return self.kind in (TIMEOUT, UNREACHABLE) or (
            self.kind == STATUS and self.status is not None and self.status >= 500)


class InvalidSignature(Exception):
    """Raised by ``check_signature``; ``str()`` says what is wrong."""


def _key(secret) -> bytes:
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def signature(secret, message: bytes) -> str:
    """The ``X-Signature`` value for ``message``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def signed_headers(secret, message: bytes, request_id: str, now=None) -> dict:
    """``X-Signature``, ``X-Timestamp`` and ``X-Request-Id`` for ``message`` (the body of a
    POST or an answer, the request target of a GET)."""
    stamp = int(time.time() if now is None else now)
    return {SIGNATURE_HEADER: signature(secret, message), TIMESTAMP_HEADER: str(stamp),
            REQUEST_ID_HEADER: request_id}


def _header(headers, name):
    """Case-insensitive header lookup in a plain dict, ``http.client.HTTPMessage`` or
    werkzeug ``Headers``."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def check_signature(secret, body: bytes, headers, max_skew=MAX_SKEW, now=None) -> None:
    """Raise ``InvalidSignature`` unless ``headers`` sign ``body`` (the signed bytes ``M`` of the
    module docstring) with ``secret`` at a time within ``max_skew`` seconds of ``now``."""
    given = _header(headers, SIGNATURE_HEADER)
    if not given:
        raise InvalidSignature("no X-Signature header")
    stamp = _header(headers, TIMESTAMP_HEADER)
    if stamp is None or not re.fullmatch(r"[0-9]{1,12}", stamp.strip()):
        raise InvalidSignature("no valid X-Timestamp header")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > max_skew:
        raise InvalidSignature("X-Timestamp outside the allowed clock skew")
    if not given.startswith("sha256="):
        raise InvalidSignature("X-Signature is not sha256=<hex>")
    if not hmac.compare_digest(given.strip().encode(), signature(secret, body).encode()):
        raise InvalidSignature("X-Signature does not match")


def verify_signature(secret, body: bytes, headers, max_skew=MAX_SKEW, now=None) -> bool:
    """True when ``headers`` sign ``body`` with ``secret`` within ``max_skew`` seconds (for the
    receiving side; ``check_signature`` says why not)."""
    try:
        check_signature(secret, body, headers, max_skew, now)
    except InvalidSignature:
        return False
    return True


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SignedResponse:
    """A 2xx answer: ``status``, ``headers`` (case-insensitive), ``body`` (at most
    ``max_response_bytes``; ``truncated`` when there was more), the call's ``request_id`` and
    how many ``attempts`` it took."""

    status: int
    headers: Any
    body: bytes
    truncated: bool
    request_id: str
    attempts: int

    def json(self) -> dict:
        """The body as a JSON object, or ``SignedHttpError`` (``bad_response``)."""
        if self.truncated:
            raise SignedHttpError(BAD_RESPONSE, "the answer is too large")
        try:
            data = json_input.loads(self.body)
        except ValueError:
            raise SignedHttpError(BAD_RESPONSE, "the answer is not JSON") from None
        if not isinstance(data, dict):
            raise SignedHttpError(BAD_RESPONSE, "the answer is not a JSON object")
        return data


class SignedHttpClient:
    """Signed calls to one service at ``url`` (an absolute http(s) URL: the endpoint itself, or
    a base that ``path`` arguments extend; a query in it is kept).

    ``signed_answers``: answers must be signed with the same secret (and, when they are JSON
    objects, carry back ``request_id``); otherwise answers are taken as they come (the SMS
    gateway). ``client_id``, when given, goes in ``X-Client-Id``."""

    def __init__(self, url, secret, *, connect_timeout=2.0, read_timeout=5.0, retries=0,
                 backoff=0.05, signed_answers=False, client_id=None, max_skew=MAX_SKEW,
                 max_response_bytes=MAX_RESPONSE_BYTES, user_agent="gov-idp/1",
                 ssl_context=None):
        parts = urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the service URL must be an absolute http(s) URL")
        if not secret:
            raise ValueError("the service secret must be set")
        self.url = url
        self.parts = parts
        self.secret = _key(secret)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self.signed_answers = signed_answers
        self.client_id = client_id
        self.max_skew = max_skew
        self.max_response_bytes = int(max_response_bytes)
        self.user_agent = user_agent
        self.ssl_context = ssl_context

    # -- the request target --------------------------------------------------------------

    def target(self, path="") -> str:
        """The request target for ``path`` under the base URL: base path + ``path``, then the
        base URL's query (``&``-joined with one in ``path``)."""
        base = self.parts.path or "/"
        path, _, query = path.partition("?")
        full = base.rstrip("/") + "/" + path.lstrip("/") if path else base
        queries = [q for q in (self.parts.query, query) if q]
        if queries:
            full += "?" + "&".join(queries)
        return full

    # -- calls ---------------------------------------------------------------------------

    def post(self, path="", payload=None, *, body=None, request_id=None) -> SignedResponse:
        """POST ``payload`` (JSON-encoded compactly, UTF-8) or ``body`` (bytes, sent as is)."""
        if body is None:
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return self.request("POST", path, body, request_id)

    def get(self, path="", *, request_id=None) -> SignedResponse:
        return self.request("GET", path, None, request_id)

    def post_json(self, path="", payload=None, *, request_id=None) -> dict:
        """POST ``payload`` and return the JSON object answered."""
        return self.post(path, payload, request_id=request_id).json()

    def get_json(self, path="", *, request_id=None) -> dict:
        return self.get(path, request_id=request_id).json()

    def request(self, method, path="", body=None, request_id=None) -> SignedResponse:
        """One call, retried as the class allows; a 2xx answer or ``SignedHttpError``."""
        request_id = request_id or new_request_id()
        target = self.target(path)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._attempt(method, target, body, request_id, attempt)
            except SignedHttpError as exc:
                if not exc.retryable or attempt > self.retries:
                    raise
                log.warning("%s %s: attempt %d failed (%s), retrying (request %s)", method,
                            self.parts.hostname, attempt, exc, request_id)
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if self.signed_answers:
                self._check_answer(response)
            return response

    def _connection(self):
        if self.parts.scheme == "https":
            return http.client.HTTPSConnection(
                self.parts.hostname, self.parts.port, timeout=self.connect_timeout,
                context=self.ssl_context or ssl.create_default_context())
        return http.client.HTTPConnection(self.parts.hostname, self.parts.port,
                                          timeout=self.connect_timeout)

    def _attempt(self, method, target, body, request_id, attempt):
        signed = body if body is not None else target.encode("ascii")
        headers = {"User-Agent": self.user_agent, "Accept": "application/json",
                   **signed_headers(self.secret, signed, request_id)}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if self.client_id:
            headers[CLIENT_ID_HEADER] = self.client_id
        conn = self._connection()
        try:
            conn.connect()
            conn.sock.settimeout(self.read_timeout)
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(self.max_response_bytes + 1)
            status = response.status
            answer_headers = response.headers
        except TimeoutError as exc:
            raise SignedHttpError(TIMEOUT, "did not answer in time",
                                  cause=type(exc).__name__) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise SignedHttpError(UNREACHABLE, f"unreachable ({type(exc).__name__})",
                                  cause=type(exc).__name__) from exc
        finally:
            conn.close()
        if not 200 <= status < 300:
            raise SignedHttpError(STATUS, f"answered {status}", status=status)
        truncated = len(data) > self.max_response_bytes
        return SignedResponse(status, answer_headers, data[: self.max_response_bytes],
                              truncated, request_id, attempt)

    def _check_answer(self, response):
        if response.truncated:
            raise SignedHttpError(BAD_RESPONSE, "the answer is too large")
        try:
            check_signature(self.secret, response.body, response.headers, self.max_skew)
        except InvalidSignature as exc:
            raise SignedHttpError(SIGNATURE, f"bad answer signature: {exc}") from None
        try:
            data = json_input.loads(response.body)
        except ValueError:
            return  # json() says so if the caller wants JSON
        if isinstance(data, dict) and data.get("request_id") != response.request_id:
            raise SignedHttpError(SIGNATURE, "the answer is for another request")
