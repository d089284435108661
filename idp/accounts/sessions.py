"""The browser's single sign-on session, kept server-side in the shared store.

The cookie holds a random secret; the store keeps the session under its SHA-256, so a store
dump cannot be replayed as cookies. A new secret is issued at every login and whenever the
login gets stronger (a step-up), and the old one is dead at once (no fixation: OWASP ASVS
v4.0 3.2.1). The session carries ``sid`` (published in tokens), the login's ``auth_time``,
``amr`` and ``acr``, and the clients it has been used with.

Every way a session ends goes through :func:`end` (this browser) or :func:`end_for` (from
anywhere), and :func:`start` when a new login replaces the browser's session; each sends
``idp.accounts.signals.session_ended`` once per ended session, which is how platforms hear of
it (``idp.logout``). A session that merely expires (idle or absolute lifetime) sends nothing.
"""

import hashlib
import secrets
import time

from flask import current_app
from flask import g
from flask import has_request_context
from flask import request

from idp.accounts.signals import session_ended
from idp.store import store


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(secret):
    return "sso:" + _digest(secret)


def _index(user_id):
    """The store key listing a citizen's sessions (as digests), for the account pages."""
    return f"sso-user:{user_id}"


def current():
    """The live session of this browser, or None. Cached per request."""
    if "sso" in g:
        return g.sso
    g.sso = None
    secret = request.cookies.get(current_app.config["SSO_COOKIE_NAME"])
    if secret and len(secret) < 128:
        data = store().get(_key(secret))
        now = time.time()
        idle = current_app.config["SSO_SESSION_IDLE_TTL"]
        if data and data["expires_at"] > now and data["last_seen"] + idle > now:
            g.sso, g.sso_secret = data, secret
    return g.sso


def start(user, amr, acr, extra=None):
    """Log this browser in as ``user``: replaces any session it had (which ends). ``extra``:
    fields other layers keep with the session (a login through a regional provider: the level
    it vouched for, and how to log out there)."""
    end(reason="replaced")
    cfg = current_app.config
    now = int(time.time())
    data = {"sid": secrets.token_urlsafe(16), "user_id": user.id, "auth_time": now,
            "amr": amr, "acr": acr, "clients": [], "created_at": now, "last_seen": now,
            "expires_at": now + cfg["SSO_SESSION_TTL"],
            "ip": request.remote_addr, "user_agent": request.user_agent.string[:200],
            **(extra or {})}
    _remember(user.id, secrets.token_urlsafe(32), data)
    return data


def _remember(user_id, secret, data, forget=None):
    """Keep ``data`` under ``secret``, list it among the citizen's sessions (instead of the
    secret ``forget``) and give the browser the cookie."""
    _save(secret, data)
    gone = {_digest(secret), _digest(forget) if forget else None}
    digests = [d for d in store().get(_index(user_id)) or [] if d not in gone]
    store().set(_index(user_id), [*digests[-49:], _digest(secret)],
                current_app.config["SSO_SESSION_TTL"])
    g.sso, g.sso_secret, g.sso_set_cookie = data, secret, secret


def step_up(amr, acr):
    """The session's citizen has just proved another factor: record it as a new
    authentication (OIDC ``auth_time``) with the stronger ``amr``/``acr``, under a new secret
    (the session keeps its ``sid``, which platforms know it by)."""
    data = current()
    data.update(amr=amr, acr=acr, auth_time=int(time.time()))
    store().delete(_key(g.sso_secret))
    _remember(data["user_id"], secrets.token_urlsafe(32), data, forget=g.sso_secret)
    return data


def touch(client_id=None):
    """Record use (idle timer) and, optionally, a client the session has logged in to."""
    data = current()
    if data is None:
        return
    data["last_seen"] = int(time.time())
    if client_id and client_id not in data["clients"]:
        data["clients"].append(client_id)
    _save(g.sso_secret, data)


def list_for(user_id):
    """The citizen's live sessions as (sid, data, is_this_browser), newest first."""
    mine = current()
    now = time.time()
    idle = current_app.config["SSO_SESSION_IDLE_TTL"]
    found = []
    for digest in store().get(_index(user_id)) or []:
        data = store().get("sso:" + digest)
        if data and data["expires_at"] > now and data["last_seen"] + idle > now:
            found.append((data["sid"], data, bool(mine and mine["sid"] == data["sid"])))
    return sorted(found, key=lambda item: item[1]["last_seen"], reverse=True)


def end_for(user_id, sid=None, keep_sid=None, reason="ended"):
    """End one of the citizen's sessions (by ``sid``) or all of them but ``keep_sid``, from
    anywhere (a browser, the command line, an administrator). Returns how many ended. The
    browser whose session ended finds itself logged out at its next request (this request's
    browser at once). ``reason`` goes with ``session_ended``."""
    ended = 0
    mine = (current() or {}).get("sid") if has_request_context() else None
    for digest in list(store().get(_index(user_id)) or []):
        data = store().get("sso:" + digest)
        if data is None or (sid and data["sid"] != sid) or data["sid"] == keep_sid:
            continue
        store().delete("sso:" + digest)
        ended += 1
        if data["sid"] == mine:
            g.sso, g.sso_clear_cookie = None, True
        _ended(data, reason, browser=data["sid"] == mine)
    return ended


def end(reason="logout"):
    """Log this browser out."""
    data = current()
    if data is not None:
        store().delete(_key(g.sso_secret))
        g.sso_clear_cookie = True
    g.sso = None
    if data is not None:
        _ended(data, reason, browser=True)
    return data


def _ended(data, reason, browser):
    session_ended.send(current_app._get_current_object(), user_id=data["user_id"],
                       sid=data["sid"], clients=list(data.get("clients") or []),
                       amr=list(data.get("amr") or []), session=dict(data), reason=reason,
                       browser=browser)


def continue_logout_at(url):
    """For a receiver of ``session_ended`` in the logged-out browser's request: send the
    browser to ``url`` (a page of ours) instead of the page it would have gone to."""
    g.sso_after_logout = url


def after_logout(default):
    """Where this browser goes once logged out: what a receiver asked for
    (``continue_logout_at``), else ``default``."""
    return g.get("sso_after_logout") or default


def _save(secret, data):
    ttl = max(1, int(data["expires_at"] - time.time()))
    store().set(_key(secret), data, ttl)


def apply_cookie(response):
    """after_request hook: write or clear the session cookie."""
    cfg = current_app.config
    name = cfg["SSO_COOKIE_NAME"]
    if g.get("sso_set_cookie"):
        response.set_cookie(name, g.sso_set_cookie, max_age=cfg["SSO_SESSION_TTL"],
                            httponly=True, samesite="Lax", secure=cfg["SESSION_COOKIE_SECURE"],
                            path="/")
    elif g.get("sso_clear_cookie"):
        response.delete_cookie(name, path="/", httponly=True, samesite="Lax",
                               secure=cfg["SESSION_COOKIE_SECURE"])
    return response
