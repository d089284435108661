"""The development identity registry and face-verification service: synthetic people, real
HTTP, the same signed protocol as the real services (``idp.realname.verifiers``), so the whole
real-name flow runs on a laptop and in tests. It is NOT a verification service: it knows only
the people of a CSV file of made-up data, and its "face check" is a page with two buttons.

* ``bp`` — a Blueprint the development provider mounts under a prefix (``/dev/registry``); its
  settings come from ``current_app.config``: ``DEV_REGISTRY_SECRET`` (signs both directions;
  unset: every API call answers 503), ``DEV_REGISTRY_PEOPLE`` (a CSV path, or None for the
  shipped ``dev_people.csv``) and ``DEV_REGISTRY_FACE_OUTCOME`` (``ask``: the page asks;
  ``pass`` / ``fail``: the page completes the session at once and sends the browser back).
  It answers 404 everywhere when ``ENV_NAME`` is ``production``.
* ``create_registry_app(people_csv, secret, face_outcome)`` — a standalone app with it at "/".
* ``serve(...)`` and the click command ``dev_registry_command`` (``idp realname dev-registry``).

Endpoints (the ``/v1`` ones need a signed request — else 401 — and sign their answers, which
carry back the request id: see ``idp.signed_http``)::

    POST /v1/identity/verify     {name, document_type, document_number[, request_id]}
                                 -> {result: match|mismatch|not_found, transaction_id}
    POST /v1/face/sessions       {name, document_type, document_number, return_url[, request_id]}
                                 -> {session_id, url}
    GET  /v1/face/sessions/<id>  -> {session_id, status: pending|completed, liveness, match,
                                     transaction_id}
    GET  /face/<id>              the DEVELOPMENT face-check page: "Pass" and "Fail" buttons
    POST /face/<id>              outcome=pass|fail: recorded (the first one stands), then 303 to
                                 return_url with face_session=<id> appended

"match" needs the (document type, number) in the CSV with the same name, compared after
Unicode NFKC, without whitespace, with the middle-dot variants of minority names unified.
"Pass" passes liveness; the face "matches" only for a person the registry has under that name.
A POST body's ``request_id``, when present, must equal ``X-Request-Id`` (it is the signed
copy). The people are read once per app and CSV path; face sessions live in memory (a dict
under a lock, at most ``MAX_SESSIONS``, each for ``SESSION_TTL`` seconds): one process only.

The page is English and Chinese side by side, not gettext: a developer's tool, never shown to
citizens. Logs carry outcomes and ids, never names or numbers.
"""

import csv
import json
import logging
import os
import secrets
import threading
import time
import unicodedata
import uuid
from functools import wraps
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import click
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template_string
from flask import request
from flask import url_for

from idp.realname.documents import DocumentError
from idp.realname.documents import parse
from idp.signed_http import REQUEST_ID_HEADER
from idp.signed_http import InvalidSignature
from idp.signed_http import check_signature
from idp.signed_http import signed_headers

log = logging.getLogger(__name__)

DEFAULT_PEOPLE = os.path.join(os.path.dirname(__file__), "dev_people.csv")
FACE_OUTCOMES = ("ask", "pass", "fail")
SESSION_TTL = 3600
MAX_SESSIONS = 10_000
MAX_FIELD = 200
_DOTS = str.maketrans({c: "\u00b7" for c in "\u2022\u2027\u30fb\uff65\u2219\u22c5"})

bp = Blueprint("dev_registry", __name__)


# --- the people -----------------------------------------------------------------------------

def normalise_name(name: str) -> str:
    """NFKC, no whitespace, middle dots unified (``阿依古丽 · 测试`` = ``阿依古丽·测试``)."""
    return "".join(unicodedata.normalize("NFKC", name).translate(_DOTS).split())


def load_people(path=None) -> dict:
    """``{(doc_type, number): name}`` from a CSV with columns name, doc_type, number (and an
    optional nationality); ``#`` lines are comments. Every number must pass
    ``idp.realname.documents.parse``; a bad or repeated row is a ``ValueError`` naming its line."""
    path = path or DEFAULT_PEOPLE
    people = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        lines = [(n, line) for n, line in enumerate(fh, 1)
                 if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(line for _n, line in lines)
    missing = {"name", "doc_type", "number"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    for index, row in enumerate(reader, 1):
        line = lines[index][0] if index < len(lines) else "?"
        name = normalise_name(row.get("name") or "")
        if not name:
            raise ValueError(f"{path}, line {line}: no name")
        try:
            document = parse((row.get("doc_type") or "").strip(), row.get("number") or "",
                             row.get("nationality") or None)
        except DocumentError as exc:
            raise ValueError(f"{path}, line {line}: {exc.code}") from None
        key = (document.doc_type, document.number)
        if key in people:
            raise ValueError(f"{path}, line {line}: the same document twice")
        people[key] = name
    return people


class _State:
    """One app's people (by CSV path) and face sessions."""

    def __init__(self):
        self.lock = threading.Lock()
        self.people_path = None
        self.people = {}
        self.sessions = {}

    def registry(self):
        path = current_app.config["DEV_REGISTRY_PEOPLE"] or DEFAULT_PEOPLE
        with self.lock:
            if path != self.people_path:
                self.people, self.people_path = load_people(path), path
            return self.people


def _state() -> _State:
    return current_app.extensions.setdefault("idp.dev_registry", _State())


def _lookup(name, doc_type, number):
    """"match", "mismatch" or "not_found"."""
    people = _state().registry()
    known = people.get((doc_type, number.strip().upper()))
    if known is None:
        return "not_found"
    return "match" if normalise_name(name) == known else "mismatch"


# --- signatures -----------------------------------------------------------------------------

def _secret():
    return current_app.config.get("DEV_REGISTRY_SECRET")


def _target() -> str:
    """The request target as the client sent (and signed) it: path and query."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    target = quote(request.script_root + request.path)
    query = request.query_string.decode("latin-1")
    return f"{target}?{query}" if query else target


def _answer(payload, status=200):
    """A JSON answer signed with the secret (when there is one), carrying the request id."""
    request_id = g.get("dev_registry_request_id") or ""
    body = json.dumps({**payload, "request_id": request_id}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    response = Response(body, status, mimetype="application/json")
    if _secret():
        response.headers.update(signed_headers(_secret(), body, request_id))
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(code, status):
    return _answer({"error": code}, status)


def signed(view):
    """Only for a request signed with ``DEV_REGISTRY_SECRET``; POST bodies must be JSON
    objects whose ``request_id`` (if any) is the ``X-Request-Id``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        request_id = (request.headers.get(REQUEST_ID_HEADER) or "")[:100]
        g.dev_registry_request_id = request_id
        if not _secret():
            return _error("not_configured", 503)
        message = request.get_data() if request.method == "POST" else _target().encode()
        try:
            check_signature(_secret(), message, request.headers)
        except InvalidSignature as exc:
            log.info("dev registry: refused %s %s (request %s): %s", request.method,
                     request.path, request_id, exc)
            return _error("invalid_signature", 401)
        if not request_id:
            return _error("no_request_id", 400)
        if request.method == "POST":
            try:
                data = json.loads(request.get_data())
            except ValueError:
                data = None
            if not isinstance(data, dict):
                return _error("invalid_json", 400)
            if data.get("request_id", request_id) != request_id:
                return _error("request_id_mismatch", 400)
            g.dev_registry_body = data
        return view(*args, **kwargs)

    return wrapper


def _fields(*names):
    """The named string fields of the signed body, or None when one is missing or odd."""
    data = g.dev_registry_body
    values = [data.get(n) for n in names]
    if not all(isinstance(v, str) and v.strip() and len(v) <= MAX_FIELD for v in values):
        return None
    return values


@bp.before_request
def _development_only():
    if current_app.config.get("ENV_NAME") == "production":
        abort(404)


# --- identity -------------------------------------------------------------------------------

@bp.post("/v1/identity/verify")
@signed
def verify():
    values = _fields("name", "document_type", "document_number")
    if values is None:
        return _error("invalid_request", 400)
    result = _lookup(*values)
    transaction_id = "dev-" + uuid.uuid4().hex
    log.info("dev registry: %s (transaction %s)", result, transaction_id)
    return _answer({"result": result, "transaction_id": transaction_id})


# --- face -----------------------------------------------------------------------------------

def _face_outcome():
    outcome = current_app.config["DEV_REGISTRY_FACE_OUTCOME"]
    return outcome if outcome in FACE_OUTCOMES else "ask"


@bp.post("/v1/face/sessions")
@signed
def face_start():
    values = _fields("name", "document_type", "document_number", "return_url")
    if values is None:
        return _error("invalid_request", 400)
    name, doc_type, number, return_url = values
    if urlsplit(return_url).scheme not in ("http", "https") or not urlsplit(return_url).netloc:
        return _error("invalid_return_url", 400)
    session_id = secrets.token_urlsafe(16)
    session = {"known": _lookup(name, doc_type, number) == "match", "return_url": return_url,
               "status": "pending", "liveness": False, "match": False,
               "created": time.time(), "transaction_id": "dev-face-" + uuid.uuid4().hex}
    state = _state()
    with state.lock:
        now = time.time()
        for old in [k for k, v in state.sessions.items() if now - v["created"] > SESSION_TTL]:
            del state.sessions[old]
        if len(state.sessions) >= MAX_SESSIONS:
            return _error("too_many_sessions", 503)
        state.sessions[session_id] = session
    log.info("dev face: session started (transaction %s)", session["transaction_id"])
    url = url_for("dev_registry.face_page", session_id=session_id, _external=True)
    return _answer({"session_id": session_id, "url": url})


@bp.get("/v1/face/sessions/<session_id>")
@signed
def face_result(session_id):
    with _state().lock:
        session = dict(_state().sessions.get(session_id) or {})
    if not session:
        return _error("not_found", 404)
    return _answer({"session_id": session_id, "status": session["status"],
                    "liveness": session["liveness"], "match": session["match"],
                    "transaction_id": session["transaction_id"]})


def _complete(session_id, outcome):
    """Record ``outcome`` ("pass" or "fail") unless the session already has one; the
    session's return URL with ``face_session`` appended, or None for an unknown session."""
    state = _state()
    with state.lock:
        session = state.sessions.get(session_id)
        if session is None:
            return None
        if session["status"] == "pending":
            passed = outcome == "pass"
            session.update(status="completed", liveness=passed, match=passed and session["known"])
            log.info("dev face: %s (transaction %s)", "pass" if session["match"] else "fail",
                     session["transaction_id"])
        return _with_session(session["return_url"], session_id)


def _with_session(url, session_id):
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("face_session", session_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex">
<title>DEVELOPMENT face check — not a real one · 开发用人脸核验（非真实核验）</title></head>
<body>
<main>
<h1>DEVELOPMENT face check — not a real one</h1>
<p lang="zh-CN"><strong>开发用人脸核验：这不是真实的人脸核验。</strong></p>
<p>This page stands in for a face-verification service (liveness and face match) so that the
real-name flow can be tried locally. No camera is used and nobody is checked: you choose the
outcome. It must never be reachable in production.</p>
<p lang="zh-CN">本页面仅供开发和测试使用，代替人脸核验服务（活体检测与人像比对）。
不使用摄像头，也不核验任何人：结果由您选择。生产环境中不得提供此页面。</p>
<p>{% if known %}This person is in the development registry: "Pass" gives a match.
{% else %}This person is not in the development registry: even "Pass" gives no match.{% endif %}
<span lang="zh-CN">{% if known %}该人员在开发用登记库中：选择"通过"即比对成功。
{% else %}该人员不在开发用登记库中：即使选择"通过"，比对也不会成功。{% endif %}</span></p>
<form method="post" action="{{ action }}">
<button type="submit" name="outcome" value="pass">Pass · 通过</button>
<button type="submit" name="outcome" value="fail">Fail · 不通过</button>
</form>
</main>
</body>
</html>
"""


@bp.route("/face/<session_id>", methods=["GET", "POST"])
def face_page(session_id):
    if request.method == "POST":
        outcome = request.form.get("outcome")
        if outcome not in ("pass", "fail"):
            abort(400)
        target = _complete(session_id, outcome)
        if target is None:
            abort(404)
        return redirect(target, 303)
    with _state().lock:
        session = dict(_state().sessions.get(session_id) or {})
    if not session:
        abort(404)
    if session["status"] != "pending":
        return redirect(_with_session(session["return_url"], session_id), 303)
    if _face_outcome() != "ask":
        target = _complete(session_id, _face_outcome())
        if target is None:
            abort(404)
        return redirect(target, 303)
    html = render_template_string(PAGE, known=session["known"],
                                  action=url_for("dev_registry.face_page",
                                                 session_id=session_id))
    return html, 200, {"Cache-Control": "no-store"}


# --- standalone -----------------------------------------------------------------------------

def create_registry_app(people_csv=None, secret=None, face_outcome="ask") -> Flask:
    """A standalone development registry and face service with ``bp`` at "/"."""
    if not secret:
        raise ValueError("the development registry needs a secret")
    if face_outcome not in FACE_OUTCOMES:
        raise ValueError(f"face_outcome must be one of {', '.join(FACE_OUTCOMES)}")
    app = Flask(__name__)
    app.config.update(DEV_REGISTRY_SECRET=secret, DEV_REGISTRY_PEOPLE=people_csv,
                      DEV_REGISTRY_FACE_OUTCOME=face_outcome, ENV_NAME="development")
    with app.app_context():
        _state().registry()  # a bad CSV fails here, not at the first request
    app.register_blueprint(bp)
    return app


def serve(host="127.0.0.1", port=5100, people_csv=None, secret=None, face_outcome="ask"):
    """Run the standalone service until interrupted (werkzeug, threaded)."""
    from werkzeug.serving import run_simple

    app = create_registry_app(people_csv, secret, face_outcome)
    with app.app_context():
        count = len(_state().registry())
    click.echo(f"DEVELOPMENT identity registry and face service (synthetic people: {count}, "
               f"face outcome: {face_outcome}) at http://{host}:{port}/ — not a real one.")
    run_simple(host, port, app, threaded=True)


@bp.record_once
def _csrf_exempt(state):
    """Mounted in the provider, the API is called by servers and the page posts without the
    provider's CSRF token: exempt the blueprint from Flask-WTF's check."""
    from idp.extensions import csrf

    csrf.exempt(bp)


@click.command("dev-registry")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5100, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--people", type=click.Path(exists=True, dir_okay=False),
              help="CSV of synthetic people (name,doc_type,number); default: the shipped one.")
@click.option("--secret", envvar="IDP_REALNAME_REGISTRY_SECRET", required=True,
              help="Shared signing secret (env IDP_REALNAME_REGISTRY_SECRET), "
                   "at least 32 characters.")
@click.option("--face-outcome", type=click.Choice(FACE_OUTCOMES), default="ask",
              show_default=True, help="ask: the face page offers Pass/Fail; pass/fail: at once.")
def dev_registry_command(host, port, people, secret, face_outcome):
    """Run the DEVELOPMENT identity registry and face service (synthetic people only)."""
    if len(secret) < 32:
        raise click.BadParameter("must be at least 32 characters", param_hint="--secret")
    try:
        load_people(people)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--people") from None
    serve(host, port, people, secret, face_outcome)
