"""Fetching a JSON document a client published (its ``jwks_uri``, its
``sector_identifier_uri``): https only (plain http on a loopback host outside production, for
development), a timeout, a size limit, redirects only to URLs that pass the same check, and a
short cache in the shared store. ``fetch_for`` does, before validation, all the network I/O
that validating a client's metadata needs (``clients.validation`` itself does none).
``post_form`` posts to a URL a client registered (its ``backchannel_logout_uri``) under the
same guard."""

import hashlib
import http.client
import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import current_app

from clients.validation import DOCUMENT_FIELDS
from clients.validation import FETCHED_FIELDS
from clients.validation import ClientValidationError
from clients.validation import Fetched
from clients.validation import fetched_uri
from clients.validation import is_loopback
from idp.store import store

CACHE_SECONDS = 300


class FetchError(ValueError):
    """The document could not be fetched or is not JSON; the message says why."""


def check_fetchable(url: str) -> str | None:
    """Why ``url`` may not be fetched, or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "is not a URL"
    if not host or "@" in parts.netloc:
        return "is not an absolute URL with a host"
    if parts.scheme == "https":
        if current_app.config["ENV_NAME"] == "production":
            if (parts.port or 443) != 443:
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


class _PinnedHTTPS(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PinnedHTTPSConnection, req, context=ssl.create_default_context())


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
    problem = check_fetchable(url)
    if problem:
        raise FetchError(f"the URL {problem}")
    cfg = current_app.config
    limit = cfg["JWKS_URI_MAX_BYTES"]
    handlers = [urllib.request.ProxyHandler({}), _CheckedRedirects()]  # no *_proxy detours
    if current_app.config["ENV_NAME"] == "production":
        handlers.append(_PinnedHTTPS())
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with opener.open(request, timeout=cfg["JWKS_URI_TIMEOUT"]) as response:
            body = response.read(limit + 1)
        if len(body) > limit:
            raise FetchError(f"the document is larger than {limit} bytes")
        value = json.loads(body)
    except FetchError:
        raise
    except (OSError, ValueError) as exc:
        raise FetchError(str(exc) or exc.__class__.__name__) from None
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


def post_form(url: str, fields: dict, *, connect_timeout: float, read_timeout: float) -> int:
    """POST ``fields`` (``application/x-www-form-urlencoded``) to ``url`` and return the answer's
    HTTP status (a redirect is not followed: its status is returned). The URL is held to
    ``check_fetchable`` (in production: https on port 443, a public address, the connection
    pinned to the address checked); no ``*_proxy`` detour; ``connect_timeout`` for the
    connection (TLS included) and ``read_timeout`` for each read; the answer's body is not
    read. ``FetchError`` when no answer came (refused, unreachable, timed out)."""
    problem = check_fetchable(url)
    if problem:
        raise FetchError(f"the URL {problem}")
    production = current_app.config["ENV_NAME"] == "production"
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirects(), _TimedHTTP(read_timeout),
        _TimedHTTPS(read_timeout, pinned=production))
    request = urllib.request.Request(  # noqa: S310  (the scheme is checked above)
        url, data=urlencode(fields).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with opener.open(request, timeout=connect_timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(str(reason) or exc.__class__.__name__) from None


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
