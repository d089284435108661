"""Client lookups for the token hot path, without a database round trip per request.

Each process keeps read-only ``ClientRecord`` copies. Every committed change to a client bumps
a version counter in the shared store; a lookup compares the version (one Redis GET) before
trusting its copy, so a suspension or a new secret takes effect on every node at the next
request. Copies are also refreshed after ``MAX_AGE`` seconds as a safety net (for changes
written to the database by hand). With the in-process store (one development process)
nothing is cached: another process (the CLI) could not tell this one about a change.
"""

import time

from flask import current_app
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy import select

from idp.extensions import db
from idp.store import RedisStore
from idp.store import store

VERSION_KEY = "clients:version"
VERSION_TTL = 400 * 24 * 3600
MAX_AGE = 60
MAX_ENTRIES = 10_000


class ClientCache:
    def __init__(self):
        self._items = {}

    def get(self, client_id):
        from clients.models import Client

        shared = isinstance(store(), RedisStore)
        version = store().get(VERSION_KEY) if shared else None
        if shared:
            item = self._items.get(client_id)
            if item and item[0] == version and time.monotonic() - item[1] < MAX_AGE:
                return item[2]
        row = db.session.execute(
            select(Client).where(Client.client_id == client_id)).scalar_one_or_none()
        if row is None:
            return None
        record = row.record()
        if shared:
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
            self._items[client_id] = (version, time.monotonic(), record)
        return record


def init_app(app):
    app.extensions["idp.client_cache"] = ClientCache()
    if not event.contains(db.session, "before_flush", _note_client_changes):
        event.listen(db.session, "before_flush", _note_client_changes)
        event.listen(db.session, "after_commit", _announce_client_changes)
        event.listen(db.session, "after_rollback", _forget_client_changes)


def client_cache() -> ClientCache:
    return current_app.extensions["idp.client_cache"]


def _note_client_changes(session, flush_context, instances):
    from clients.models import Client

    if any(isinstance(o, Client) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info["clients_changed"] = True


def _announce_client_changes(session):
    if session.info.pop("clients_changed", False) and has_app_context():
        store().incr(VERSION_KEY, VERSION_TTL)


def _forget_client_changes(session):
    session.info.pop("clients_changed", None)
