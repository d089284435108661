"""Fetching a JSON document a client published (its ``jwks_uri``, its
``sector_identifier_uri``): https only (plain http on a loopback host outside production, for
development), a timeout, a size limit, redirects only to URLs that pass the same check, and a
short cache in the shared store. ``fetch_for`` does, before validation, all the network I/O
that validating a client's metadata needs (``clients.validation`` itself does none).

``send`` is the one way this provider calls a URL someone else named (a client's documents and
its ``backchannel_logout_uri``, a regional identity provider's endpoints): the same checks, no
``*_proxy`` detours, connect and read timeouts, and in production only public addresses, the
one checked being the one connected to."""

import hashlib
import http.client
import ipaddress
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from flask import current_app

from clients.validation import DOCUMENT_FIELDS
from clients.validation import FETCHED_FIELDS
from clients.validation import ClientValidationError
from clients.validation import Fetched
from clients.validation import fetched_uri
from clients.validation import is_loopback
from idp import json_input
from idp.store import store

CACHE_SECONDS = 300


class FetchError(ValueError):
    """The document could not be fetched or is not JSON; the message says why."""


def check_fetchable(url: str) -> str | None:
    """Why ``url`` may not be fetched, or None when it may."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # a port out of range or not a number raises
    except ValueError:
        return "is not a URL"
    if not host or "@" in parts.netloc:
        return "is not an absolute URL with a host"
    if parts.scheme == "https":
        if current_app.config["ENV_NAME"] == "production":
            if (port or 443) != 443:
                return "must use the https port 443"
            if _public_address(host) is None:
                return "names a private, local or unresolvable address"
        return None
    if parts.scheme == "http" and is_loopback(host) and (
            current_app.config["ENV_NAME"] != "production"):
        return None
    return "must use https"


def _public_address(host: str) -> str | None:
    """An address of ``host`` when every address it resolves to is a public one, else None:
    registrants name these URLs, and the provider must not be made to call its own network
    (SSRF). The connection then goes to that very address (``_PinnedHTTPS``), so a second DNS
    answer (rebinding) cannot send it elsewhere."""
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    addresses = [info[4][0].split("%")[0] for info in infos]
    if not addresses or not all(ipaddress.ip_address(a).is_global for a in addresses):
        return None
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the public address checked just now; TLS still verifies the host name."""

    def connect(self):
        address = _public_address(self.host)
        if address is None:
            raise OSError(f"{self.host} does not resolve to public addresses only")
        self._create_connection = lambda _addr, *args: socket.create_connection(
            (address, self.port), *args)
        super().connect()


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 3

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        problem = check_fetchable(newurl)
        if problem:
            raise urllib.error.URLError(f"redirected to a URL that {problem}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_json(url: str, cache_key: str):
    """The JSON value at ``url`` (cached for ``CACHE_SECONDS`` under ``cache_key``)."""
    cached = store().get(cache_key)
    if cached is not None:
        return cached
    status, body = send(url, headers={"Accept": "application/json"})
    if status != 200:
        raise FetchError(f"HTTP Error {status}")
    try:
        value = json_input.loads(body)
    except ValueError as exc:
        raise FetchError(str(exc)) from None
    store().set(cache_key, value, CACHE_SECONDS)
    return value


def _read_timeout(connection_class, seconds):
    """``connection_class`` whose socket, once connected (within the opener's timeout), waits
    at most ``seconds`` for each read."""

    class Connection(connection_class):
        def connect(self):
            super().connect()
            self.sock.settimeout(seconds)

    return Connection


class _TimedHTTP(urllib.request.HTTPHandler):
    def __init__(self, read_timeout):
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req):
        return self.do_open(_read_timeout(http.client.HTTPConnection, self.read_timeout), req)


class _TimedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout, pinned):
        super().__init__(context=ssl.create_default_context())
        self.read_timeout, self.pinned = read_timeout, pinned

    def https_open(self, req):
        connection = _PinnedHTTPSConnection if self.pinned else http.client.HTTPSConnection
        return self.do_open(_read_timeout(connection, self.read_timeout), req,
                            context=ssl.create_default_context())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is the answer (urllib raises it as an HTTPError)


def send(url: str, data: bytes | None = None, headers=None, *, connect_timeout=None,
         read_timeout=None, redirects=True) -> tuple[int, bytes]:
    """(status, body) of one request to ``url``: a GET, or a POST of ``data``. An answer with
    an error status is an answer too (with ``redirects=False`` a redirect is one as well);
    ``FetchError`` when there is none (a URL that may not be called, no connection, a timeout,
    a body over the size limit). ``connect_timeout`` bounds the connection (TLS included) and
    ``read_timeout`` each read (both ``JWKS_URI_TIMEOUT`` unless given)."""
    problem = check_fetchable(url)
    if problem:
        raise FetchError(f"the URL {problem}")
    cfg = current_app.config
    limit = cfg["JWKS_URI_MAX_BYTES"]
    connect_timeout = connect_timeout or cfg["JWKS_URI_TIMEOUT"]
    read_timeout = read_timeout or connect_timeout
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # no *_proxy detours
        _CheckedRedirects() if redirects else _NoRedirects(), _TimedHTTP(read_timeout),
        _TimedHTTPS(read_timeout, pinned=cfg["ENV_NAME"] == "production"))
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        try:
            response = opener.open(request, timeout=connect_timeout)
        except urllib.error.HTTPError as answer:
            response = answer
        with response:
            status, body = response.status, response.read(limit + 1)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(str(reason) or exc.__class__.__name__) from None
    if len(body) > limit:
        raise FetchError(f"the document is larger than {limit} bytes")
    return status, body


def fetch_for(metadata) -> Fetched:
    """What ``clients.validation.normalize(metadata)`` needs to know from the network: for
    each URL in ``FETCHED_FIELDS``, whether it may be fetched (``check_fetchable``) and, for
    ``DOCUMENT_FIELDS``, its document (cached ``CACHE_SECONDS``) or why it could not be had.
    A value that is no URL is left to validation to refuse."""
    fetched = Fetched()
    for name in FETCHED_FIELDS if isinstance(metadata, dict) else ():
        try:
            url = fetched_uri(metadata.get(name), name)
        except ClientValidationError:
            continue
        if url is None or url in fetched.problems:
            continue
        fetched.problems[url] = check_fetchable(url)
        if fetched.problems[url] is None and name in DOCUMENT_FIELDS:
            try:
                fetched.documents[url] = fetch_json(
                    url, "sector-uri:" + hashlib.sha256(url.encode()).hexdigest())
            except FetchError as exc:
                fetched.failures[url] = str(exc)
    return fetched
