"""Back-channel and front-channel logout: when a session ends (``session_ended``, sent by
``idp.accounts.sessions`` however it ended), every platform the session logged in to hears of
it.

**Back-channel** (OpenID Connect Back-Channel Logout 1.0): one ``LogoutDelivery`` row per
platform with a ``backchannel_logout_uri`` (the one that started the logout included), in the
database: a durable queue. Each attempt signs a new logout token (``idp.oauth.tokens.
logout_token``) and POSTs it (``logout_token=…``, form-encoded) through the outbound guard of
``clients.fetch.send`` (no proxies, connect and read timeouts, in production https to
public addresses only). A 2xx answer delivers it; a 4xx (but 408 and 429) is a definite
refusal; anything else (no answer, a timeout, 5xx, a redirect) is tried again after
``LOGOUT_RETRY_BASE`` seconds, doubling up to ``LOGOUT_RETRY_MAX``, until
``LOGOUT_DELIVERY_WINDOW`` after the logout, when the delivery is given up (``failed``).
Attempts are made right after the response of the request that ended the session, and by
``deliver_due`` (``idp logout worker`` / ``idp logout deliver``, or a thread in development),
which any number of app nodes may run: a delivery is taken by an atomic update (a lease), so
it is never sent twice at once.

**Front-channel** (OpenID Connect Front-Channel Logout 1.0): when the session ended in this
very browser, the platforms' ``frontchannel_logout_uri`` (with ``iss`` and ``sid``) are loaded
in frames of the logged-out page (``idp.logout.browser``).
"""

import concurrent.futures
import logging
import threading
import time
from urllib.parse import urlencode
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from flask import after_this_request
from flask import current_app
from flask import has_request_context
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from clients.fetch import FetchError
from clients.fetch import send
from clients.service import get_client
from idp.accounts.models import User
from idp.extensions import db
from idp.logout import browser as plans
from idp.logout.models import DELIVERY_STATES
from idp.logout.models import LogoutDelivery
from idp.oauth import tokens
from idp.oauth.claims import subject_for

log = logging.getLogger(__name__)

#: What discovery advertises (Back-Channel Logout 2.1, Front-Channel Logout 3): every logout
#: token carries ``sid`` and every front-channel URL ``iss`` and ``sid``, whatever a platform
#: registered as ``*_logout_session_required``.
SESSION_ID_IN_LOGOUT_TOKENS = True
SESSION_ID_IN_FRONTCHANNEL = True

#: Seconds a worker holds a delivery it took, beyond the call's own timeouts (a worker that
#: dies mid-call leaves it to another once this has passed).
LEASE_MARGIN = 30
#: Seconds between two ``forget_finished`` of a running worker.
FORGET_EVERY = 3600


def on_session_ended(app, *, user_id, sid, clients, reason, browser=False, **_extra):
    """``session_ended`` receiver: queue the back-channel logouts (tried as soon as the
    response is sent) and, when this request's browser is the one logged out, plan the
    front-channel frames of its logged-out page."""
    rows = enqueue(user_id, sid, clients, reason)
    if browser:
        plan = plans.current()
        for url in frontchannel_urls(sid, clients):
            plan.add_frame(url)
    if rows:
        _attempt_soon(app, [row.id for row in rows])


def frontchannel_urls(sid, client_ids):
    """Front-Channel Logout 1.0 4: each platform's ``frontchannel_logout_uri`` with ``iss``
    and ``sid``."""
    issuer = current_app.config["ISSUER"]
    urls = []
    for client_id in dict.fromkeys(client_ids):
        client = get_client(client_id)
        if client is not None and client.frontchannel_logout_uri:
            urls.append(add_params_to_uri(client.frontchannel_logout_uri,
                                          [("iss", issuer), ("sid", sid)]))
    return urls


def frame_origins(urls):
    """The origins of ``urls`` (for the page's ``frame-src``)."""
    origins = []
    for url in urls:
        parts = urlsplit(url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return list(dict.fromkeys(origins))


# --- The queue -------------------------------------------------------------------------------

def enqueue(user_id, sid, client_ids, reason) -> list[LogoutDelivery]:
    """A pending delivery for each of ``client_ids`` that registered a
    ``backchannel_logout_uri``, due now; committed."""
    clients = [client for client in map(get_client, dict.fromkeys(client_ids))
               if client is not None and client.backchannel_logout_uri]
    if not clients:
        return []
    now = int(time.time())
    user = db.session.get(User, user_id) if user_id is not None else None
    rows = [LogoutDelivery(
        client_id=client.client_id, user_id=user.id if user else None, sid=sid,
        sub=subject_for(user, client) if user else None, reason=reason[:32], status="pending",
        created_at=now, expires_at=now + current_app.config["LOGOUT_DELIVERY_WINDOW"],
        attempts=0, next_attempt_at=now) for client in clients]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def _attempt_soon(app, ids):
    """Try ``ids`` right after this request's response has been sent (its worker is then
    free of the citizen); outside a request (the command line), at once."""
    if not has_request_context():
        deliver(ids)
        return

    @after_this_request
    def _after_response(response):
        response.call_on_close(lambda: _attempt_in_app(app, ids))
        return response


def _attempt_in_app(app, ids):
    try:
        with app.app_context():
            deliver(ids)
    except Exception:  # the worker tries again; the response is long gone
        log.exception("logout delivery attempt failed")


def deliver_due(now=None) -> dict:
    """One pass of the worker: give up what is past its window, then attempt up to
    ``LOGOUT_BATCH`` deliveries that are due. Returns counts per outcome."""
    now = int(now if now is not None else time.time())
    expired = db.session.execute(
        update(LogoutDelivery)
        .where(LogoutDelivery.status == "pending", LogoutDelivery.expires_at <= now)
        .values(status="failed", next_attempt_at=None,
                last_error=func.coalesce(LogoutDelivery.last_error, "never attempted"))
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    ids = db.session.execute(
        select(LogoutDelivery.id)
        .where(LogoutDelivery.status == "pending", LogoutDelivery.next_attempt_at <= now)
        .order_by(LogoutDelivery.next_attempt_at, LogoutDelivery.id)
        .limit(current_app.config["LOGOUT_BATCH"])).scalars().all()
    counts = deliver(ids, now)
    counts["failed"] += expired
    return counts


def forget_finished(now=None) -> int:
    """Delete the finished deliveries (delivered, refused, failed) of logouts older than
    ``LOGOUT_RECORD_RETENTION``: they hold a ``sid`` and a ``sub``, kept only as long as
    administrators need them. Returns how many went."""
    now = int(now if now is not None else time.time())
    gone = db.session.execute(
        delete(LogoutDelivery)
        .where(LogoutDelivery.status != "pending",
               LogoutDelivery.created_at <= now - current_app.config["LOGOUT_RECORD_RETENTION"])
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return gone


def deliver(ids, now=None) -> dict:
    """Attempt the deliveries ``ids`` that are still due and that no other worker holds:
    sign a token for each, post them in parallel, record each outcome. Returns counts per
    outcome (``pending``: will be tried again)."""
    now = int(now if now is not None else time.time())
    cfg = current_app.config
    counts = dict.fromkeys(DELIVERY_STATES, 0)
    jobs = []
    for row_id in ids:
        row = _take(row_id, now)
        if row is None:
            continue
        client = get_client(row.client_id)
        if client is None or not client.backchannel_logout_uri:
            _finish(row, "failed", error="the platform no longer has a backchannel_logout_uri")
            counts["failed"] += 1
            continue
        token, row.jti = tokens.logout_token(client, row.sub, row.sid)
        jobs.append((row, client.backchannel_logout_uri, token))
    db.session.commit()
    if not jobs:
        return counts
    app = current_app._get_current_object()
    with concurrent.futures.ThreadPoolExecutor(
            max_workers=min(cfg["LOGOUT_PARALLEL"], len(jobs))) as pool:
        answers = list(pool.map(lambda job: _post(app, job[1], job[2]), jobs))
    for (row, _url, _token), (status, error) in zip(jobs, answers, strict=True):
        counts[_record(row, status, error, now)] += 1
    db.session.commit()
    return counts


def _take(row_id, now):
    """The delivery, leased to this worker (``next_attempt_at`` moved past the attempt), or
    None when it is not due or another worker took it first."""
    cfg = current_app.config
    lease = now + int(cfg["LOGOUT_CONNECT_TIMEOUT"] + cfg["LOGOUT_READ_TIMEOUT"]) + LEASE_MARGIN
    taken = db.session.execute(
        update(LogoutDelivery)
        .where(LogoutDelivery.id == row_id, LogoutDelivery.status == "pending",
               LogoutDelivery.next_attempt_at <= now, LogoutDelivery.expires_at > now)
        .values(next_attempt_at=lease, attempts=LogoutDelivery.attempts + 1,
                last_attempt_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return db.session.get(LogoutDelivery, row_id, populate_existing=True) if taken else None


def _post(app, url, token):
    """(HTTP status, None) or (None, why no answer came)."""
    with app.app_context():
        cfg = app.config
        try:
            status, _body = send(url, urlencode({"logout_token": token}).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"},
                                 connect_timeout=cfg["LOGOUT_CONNECT_TIMEOUT"],
                                 read_timeout=cfg["LOGOUT_READ_TIMEOUT"], redirects=False)
            return status, None
        except FetchError as exc:
            return None, str(exc)[:200]


def _record(row, status, error, now):
    """Write the attempt's outcome; returns the delivery's status."""
    row.last_status = status
    if status is not None and 200 <= status < 300:
        return _finish(row, "delivered", delivered_at=now)
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return _finish(row, "refused", error=f"the platform answered HTTP {status}")
    row.last_error = error or f"the platform answered HTTP {status}"
    due = now + retry_delay(row.attempts)
    if due >= row.expires_at:
        return _finish(row, "failed", error=row.last_error)
    row.next_attempt_at = due
    return "pending"


def _finish(row, status, error=None, delivered_at=None):
    row.status, row.next_attempt_at = status, None
    row.last_error = error
    row.delivered_at = delivered_at
    return status


def retry_delay(attempts):
    """Seconds before the attempt after ``attempts`` failed ones: ``LOGOUT_RETRY_BASE``,
    doubling, at most ``LOGOUT_RETRY_MAX``."""
    cfg = current_app.config
    return min(cfg["LOGOUT_RETRY_BASE"] * 2 ** max(0, min(attempts - 1, 20)),
               cfg["LOGOUT_RETRY_MAX"])


# --- The worker --------------------------------------------------------------------------------

def run_worker(app, stop: threading.Event, interval=None):
    """Pass after pass of ``deliver_due`` until ``stop`` is set (``idp logout worker``, the
    development thread), and ``forget_finished`` once every ``FORGET_EVERY`` seconds. A failed
    pass is logged and the next one comes."""
    interval = interval or app.config["LOGOUT_WORKER_INTERVAL"]
    forgot_at = 0.0
    while not stop.is_set():
        try:
            with app.app_context():
                counts = deliver_due()
                if time.time() - forgot_at >= FORGET_EVERY:
                    forgot_at = time.time()
                    counts["forgotten"] = forget_finished()
            if any(counts.values()):
                log.info("logout deliveries: %s", counts)
        except Exception:
            log.exception("logout delivery pass failed")
        stop.wait(interval)


def start_worker_thread(app):
    """The worker in a daemon thread of this process (development), started once; the event
    in ``app.extensions["idp.logout.worker"]`` stops it."""
    if app.extensions.get("idp.logout.worker"):
        return
    stop = threading.Event()
    app.extensions["idp.logout.worker"] = stop
    threading.Thread(target=run_worker, args=(app, stop), name="logout-worker",
                     daemon=True).start()


# --- What administrators see -------------------------------------------------------------------

def list_deliveries(*, client_id=None, status=None, page=1, per_page=50):
    """A page of deliveries, newest first, and how many match."""
    conditions = []
    if client_id is not None:
        conditions.append(LogoutDelivery.client_id == client_id)
    if status is not None:
        conditions.append(LogoutDelivery.status == status)
    total = db.session.execute(select(func.count()).select_from(LogoutDelivery)
                               .where(*conditions)).scalar_one()
    rows = db.session.execute(
        select(LogoutDelivery).where(*conditions)
        .order_by(LogoutDelivery.created_at.desc(), LogoutDelivery.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return list(rows), total


def delivery_view(row) -> dict:
    return {"id": row.id, "client_id": row.client_id, "user_id": row.user_id, "sid": row.sid,
            "reason": row.reason, "status": row.status, "created_at": row.created_at,
            "expires_at": row.expires_at, "attempts": row.attempts,
            "next_attempt_at": row.next_attempt_at, "last_attempt_at": row.last_attempt_at,
            "last_status": row.last_status, "last_error": row.last_error, "jti": row.jti,
            "delivered_at": row.delivered_at}
