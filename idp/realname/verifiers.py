"""Identity verification adapters: the registry match (name + document number against an
authoritative source) and face verification (liveness + match), both over signed HTTP
(``idp.signed_http``; the scheme is documented there).

Registry (``HttpRegistryVerifier``, ``REALNAME_REGISTRY_URL``)::

    POST <url>/v1/identity/verify
      {"name", "document_type", "document_number", "request_id"}
    200  {"result": "match" | "mismatch" | "not_found", "transaction_id", "request_id"}

Face (``HttpFaceVerifier``, ``REALNAME_FACE_URL``)::

    POST <url>/v1/face/sessions
      {"name", "document_type", "document_number", "return_url", "request_id"}
    200  {"session_id", "url", "request_id"}   -- the browser goes to ``url``; the service sends
                                                  it back to ``return_url?face_session=<id>``
    GET  <url>/v1/face/sessions/<session_id>
    200  {"session_id", "status": "pending" | "completed", "liveness": bool, "match": bool,
          "transaction_id", "request_id"}

Both directions are signed with the service's secret; an answer that is unsigned, wrongly
signed, stale, or carries another call's ``request_id`` (or, for a face result, another
session's id) is not an answer: ``VerificationUnavailable``. So is a time-out, a refused
connection, any non-2xx status (a 401 for a wrong secret included), a body that is not the
JSON described, or an unknown ``result``. Nothing is written by this module: callers record a
result only once they have one, so a failure leaves nothing half-done.

Retries: ``retries`` more attempts (default 2) after a time-out, an unreachable service or a
5xx answer, with a short doubling back-off (``REALNAME_RETRY_BACKOFF``, 0.05 s: 0.05 + 0.1);
a definite answer is never retried. All attempts of one call share its request id.

A face session that is still ``pending`` when its result is asked for (the browser came back
without finishing the check, or came back with a made-up ``face_session``) raises
``FaceCheckIncomplete`` — a ``VerificationUnavailable`` whose ``str()`` is "face check not
completed" — rather than returning "mismatch": nothing was decided, so nothing is recorded
and no failed attempt is counted; the caller may start a new session. Callers must accept
only the ``session_id`` their own ``start()`` returned (keep it server-side) and treat the
``face_session`` query parameter as a hint, not as authority.

Logs carry outcomes, request ids and transaction ids, never names or document numbers.
"""

import logging
from dataclasses import dataclass
from dataclasses import field
from typing import Protocol
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from flask import current_app

from idp.signed_http import SignedHttpClient
from idp.signed_http import SignedHttpError
from idp.signed_http import new_request_id

log = logging.getLogger(__name__)

OUTCOMES = ("match", "mismatch", "not_found")
REGISTRY, FACE = "registry", "face"


@dataclass(frozen=True)
class PersonClaim:
    """Who someone says they are, already normalised (``idp.realname.documents``)."""

    name: str
    doc_type: str
    number: str

    def __repr__(self):  # keep names and numbers out of tracebacks and logs
        return f"PersonClaim(doc_type={self.doc_type!r}, name=<hidden>, number=<hidden>)"


@dataclass(frozen=True)
class VerificationResult:
    """``outcome`` "match", "mismatch" or "not_found"; ``source`` "registry" or "face";
    ``reference`` the service's transaction id; ``detail`` facts for the record (request id,
    attempts, liveness/match flags) — never a name or a number."""

    outcome: str
    source: str
    reference: str | None = None
    detail: dict = field(default_factory=dict)

    @property
    def matched(self) -> bool:
        return self.outcome == "match"


class VerificationUnavailable(Exception):
    """No answer could be had: the service is down, too slow after the retries, refused our
    signature, or answered something unsigned or malformed. ``str()`` is a reason for logs
    (never personal data); people are told "verification service unavailable, try later"."""

    def __init__(self, reason, request_id=None):
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id


class FaceCheckIncomplete(VerificationUnavailable):
    """The face session has not been completed (yet)."""


class IdentityVerifier(Protocol):
    source: str

    def verify(self, person: PersonClaim) -> VerificationResult:
        """Match ``person`` against the authoritative source, or raise
        ``VerificationUnavailable``."""


@dataclass(frozen=True)
class FaceSession:
    """``session_id`` to keep server-side; ``url`` where the browser goes for the check."""

    session_id: str
    url: str


class FaceVerifier(Protocol):
    source: str

    def start(self, person: PersonClaim, return_url: str) -> FaceSession:
        """Open a face session for ``person``; the service sends the browser back to
        ``return_url`` with ``face_session=<session_id>`` appended."""

    def result(self, session_id: str) -> VerificationResult:
        """"match" only when liveness and the face match both passed, else "mismatch";
        ``FaceCheckIncomplete`` while pending, ``VerificationUnavailable`` without an answer."""


class _HttpVerifier:
    """What both HTTP adapters share: the signed client, and failures turned into
    ``VerificationUnavailable``."""

    source = ""
    label = ""

    def __init__(self, url, client_id, secret, connect_timeout=2.0, read_timeout=5.0,
                 retries=2, backoff=0.05):
        if not url:
            raise VerificationUnavailable(f"the {self.label} URL is not configured")
        if not secret:
            raise VerificationUnavailable(f"the {self.label} secret is not configured")
        try:
            self.client = SignedHttpClient(
                url, secret, connect_timeout=connect_timeout, read_timeout=read_timeout,
                retries=retries, backoff=backoff, signed_answers=True, client_id=client_id,
                user_agent=f"gov-idp-realname-{self.source}/1")
        except ValueError as exc:
            raise VerificationUnavailable(f"the {self.label} URL is unusable: {exc}") from None
        self.url = url

    def _call(self, what, method, path, payload=None):
        """The JSON object answered, or ``VerificationUnavailable`` (logged)."""
        request_id = new_request_id()
        try:
            if method == "POST":
                response = self.client.post(path, {**payload, "request_id": request_id},
                                            request_id=request_id)
            else:
                response = self.client.get(path, request_id=request_id)
            return response.json(), response
        except SignedHttpError as exc:
            reason = f"{self.label} {what}: {exc}"
            log.warning("%s unavailable (request %s): %s", self.label, request_id, exc)
            raise VerificationUnavailable(reason, request_id) from exc

    def _malformed(self, what, response, problem):
        log.warning("%s %s: malformed answer (request %s): %s", self.label, what,
                    response.request_id, problem)
        return VerificationUnavailable(f"{self.label} {what}: malformed answer ({problem})",
                                       response.request_id)


def _claim_fields(person):
    return {"name": person.name, "document_type": person.doc_type,
            "document_number": person.number}


def _reference(value):
    return value if isinstance(value, str) and 0 < len(value) <= 100 else None


class HttpRegistryVerifier(_HttpVerifier):
    """Name + document number against the registry service (``POST /v1/identity/verify``)."""

    source = REGISTRY
    label = "identity registry"

    def verify(self, person: PersonClaim) -> VerificationResult:
        data, response = self._call("verify", "POST", "/v1/identity/verify",
                                    _claim_fields(person))
        outcome = data.get("result")
        if outcome not in OUTCOMES:
            raise self._malformed("verify", response, "unknown result")
        reference = _reference(data.get("transaction_id"))
        log.info("identity registry: %s (request %s, transaction %s, %d attempt(s))", outcome,
                 response.request_id, reference, response.attempts)
        return VerificationResult(outcome, REGISTRY, reference,
                                  {"doc_type": person.doc_type,
                                   "request_id": response.request_id,
                                   "attempts": response.attempts})


class HttpFaceVerifier(_HttpVerifier):
    """Liveness + face match by the face service: a session the browser completes there."""

    source = FACE
    label = "face verification"

    def start(self, person: PersonClaim, return_url: str) -> FaceSession:
        if urlsplit(return_url).scheme not in ("http", "https"):
            raise ValueError("return_url must be an absolute http(s) URL")
        data, response = self._call("start", "POST", "/v1/face/sessions",
                                    {**_claim_fields(person), "return_url": return_url})
        session_id, url = data.get("session_id"), data.get("url")
        if not (isinstance(session_id, str) and session_id and isinstance(url, str) and url):
            raise self._malformed("start", response, "no session_id or url")
        url = urljoin(self.url, url)  # a relative url is relative to the service
        if urlsplit(url).scheme not in ("http", "https"):
            raise self._malformed("start", response, "the url is not http(s)")
        log.info("face verification: session started (request %s)", response.request_id)
        return FaceSession(session_id, url)

    def result(self, session_id: str) -> VerificationResult:
        if not session_id or len(session_id) > 200:
            raise VerificationUnavailable("face verification result: no valid session id")
        data, response = self._call("result", "GET",
                                    "/v1/face/sessions/" + quote(session_id, safe=""))
        if data.get("session_id") != session_id:
            raise self._malformed("result", response, "the answer is for another session")
        status = data.get("status")
        if status == "pending":
            log.info("face verification: session not completed (request %s)",
                     response.request_id)
            raise FaceCheckIncomplete("face check not completed", response.request_id)
        liveness, match = data.get("liveness"), data.get("match")
        if status != "completed" or not isinstance(liveness, bool) \
                or not isinstance(match, bool):
            raise self._malformed("result", response, "unknown status or flags")
        outcome = "match" if liveness and match else "mismatch"
        reference = _reference(data.get("transaction_id")) or _reference(session_id)
        log.info("face verification: %s (liveness %s, match %s; request %s, transaction %s)",
                 outcome, liveness, match, response.request_id, reference)
        return VerificationResult(outcome, FACE, reference,
                                  {"liveness": liveness, "match": match,
                                   "request_id": response.request_id,
                                   "attempts": response.attempts})


def _settings(cfg):
    return {"connect_timeout": float(cfg.get("REALNAME_CONNECT_TIMEOUT", 2.0)),
            "read_timeout": float(cfg.get("REALNAME_READ_TIMEOUT", 5.0)),
            "retries": int(cfg.get("REALNAME_RETRIES", 2)),
            "backoff": float(cfg.get("REALNAME_RETRY_BACKOFF", 0.05))}


def registry_verifier() -> IdentityVerifier:
    """The registry adapter configured by ``REALNAME_REGISTRY_*`` (``VerificationUnavailable``
    when the URL or secret is missing)."""
    cfg = current_app.config
    return HttpRegistryVerifier(cfg.get("REALNAME_REGISTRY_URL"),
                                cfg.get("REALNAME_REGISTRY_CLIENT_ID"),
                                cfg.get("REALNAME_REGISTRY_SECRET"), **_settings(cfg))


def face_verifier() -> FaceVerifier:
    """The face adapter configured by ``REALNAME_FACE_URL`` / ``REALNAME_FACE_SECRET`` (client
    id ``REALNAME_FACE_CLIENT_ID``, else the registry's), with the registry's timeouts."""
    cfg = current_app.config
    client_id = cfg.get("REALNAME_FACE_CLIENT_ID") or cfg.get("REALNAME_REGISTRY_CLIENT_ID")
    return HttpFaceVerifier(cfg.get("REALNAME_FACE_URL"), client_id,
                            cfg.get("REALNAME_FACE_SECRET"), **_settings(cfg))
