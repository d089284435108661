"""The browser's single sign-on session, kept server-side in the shared store.

The cookie holds a random secret; the store keeps the session under its SHA-256, so a store
dump cannot be replayed as cookies. A new secret is issued at every login (no fixation). The
session carries ``sid`` (published in tokens), the login's ``auth_time``, ``amr`` and ``acr``,
and the clients it has been used with.
"""

import hashlib
import secrets
import time

from flask import current_app
from flask import g
from flask import request

from idp.store import store


def _key(secret):
    return "sso:" + hashlib.sha256(secret.encode()).hexdigest()


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


def start(user, amr, acr):
    """Log this browser in as ``user``: replaces any session it had."""
    end()
    cfg = current_app.config
    now = int(time.time())
    secret = secrets.token_urlsafe(32)
    data = {"sid": secrets.token_urlsafe(16), "user_id": user.id, "auth_time": now,
            "amr": amr, "acr": acr, "clients": [], "created_at": now, "last_seen": now,
            "expires_at": now + cfg["SSO_SESSION_TTL"],
            "ip": request.remote_addr, "user_agent": request.user_agent.string[:200]}
    _save(secret, data)
    g.sso, g.sso_secret, g.sso_set_cookie = data, secret, secret
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


def end():
    """Log this browser out."""
    data = current()
    if data is not None:
        store().delete(_key(g.sso_secret))
        g.sso_clear_cookie = True
    g.sso = None
    return data


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
