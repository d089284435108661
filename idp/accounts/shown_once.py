"""Secrets shown once, after a redirect: a new client secret, a rotated one, an initial access
token, recovery codes.

A form that creates a secret answers with a redirect (303) to a page that shows it, so a
reload never repeats the act. ``keep`` puts the secret briefly (``TTL``) in the shared store,
sealed with AES-GCM (``idp.crypto``) and bound to this browser's SSO session, under a random
id that the redirect names; ``take`` — the page's GET — removes it in one atomic step. A
reload, another browser, another session or a late visit finds nothing: the page then says it
was already shown. The secret is never in a URL, a log or a cookie, and the store holds only
the sealed value under the id's hash.
"""

import base64
import hashlib
import json
import secrets

from cryptography.exceptions import InvalidTag

from idp.accounts import sessions
from idp.crypto import open_sealed
from idp.crypto import seal
from idp.store import store

#: Seconds a secret waits for its page (the redirect is followed at once).
TTL = 300


def _key(view_id):
    return "shown-once:" + hashlib.sha256(view_id.encode()).hexdigest()


def _context(sid, view_id):
    return f"shown-once:{sid}:{view_id}"


def keep(kind: str, secret, **context) -> str:
    """Keep ``secret`` (JSON-serialisable) for one showing to this browser's session; returns
    the id of the page that shows it. ``kind`` and ``context`` (ids, names: not secret) come
    back with it."""
    sid = sessions.current()["sid"]
    view_id = secrets.token_urlsafe(24)
    sealed = seal(json.dumps(secret).encode(), _context(sid, view_id))
    store().set(_key(view_id), {"sid": sid, "kind": kind, "context": context,
                                "sealed": base64.b64encode(sealed).decode()}, TTL)
    return view_id


def take(view_id: str, kind: str) -> dict | None:
    """The kept secret as ``{"secret": …, **context}``, removed from the store; None when it
    was already shown, has expired, is of another kind or belongs to another session."""
    session = sessions.current()
    if session is None or not isinstance(view_id, str) or not 0 < len(view_id) <= 64:
        return None
    entry = store().pop(_key(view_id))
    if entry is None or entry.get("sid") != session["sid"] or entry.get("kind") != kind:
        return None
    try:
        secret = json.loads(open_sealed(base64.b64decode(entry["sealed"]),
                                        _context(session["sid"], view_id)))
    except (InvalidTag, ValueError, KeyError):
        return None
    return {**entry["context"], "secret": secret}
