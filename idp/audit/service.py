"""Recording events. Every append locks the chain head (``SELECT … FOR UPDATE`` on
PostgreSQL), so concurrent workers extend one chain."""

import hashlib
import json
import time

from flask import has_request_context
from flask import request
from sqlalchemy import select

from idp.audit.models import AuditEvent
from idp.audit.models import AuditHead
from idp.extensions import db

GENESIS = "0" * 64
HASHED_FIELDS = ("at", "actor", "user_id", "action", "outcome", "ip", "user_agent", "detail")


def event_hash(prev_hash, fields: dict) -> str:
    body = json.dumps({k: fields[k] for k in HASHED_FIELDS}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(action, outcome="success", *, user_id=None, actor=None, detail=None):
    """Append an event and commit it (with whatever else the session holds)."""
    fields = {
        "at": int(time.time()),
        "actor": actor or (f"user:{user_id}" if user_id else "anonymous"),
        "user_id": user_id,
        "action": action,
        "outcome": outcome,
        "ip": request.remote_addr if has_request_context() else None,
        "user_agent": request.user_agent.string[:200] if has_request_context() else None,
        "detail": detail or {},
    }
    head = db.session.execute(select(AuditHead).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, last_hash=GENESIS)
        db.session.add(head)
    digest = event_hash(head.last_hash, fields)
    db.session.add(AuditEvent(prev_hash=head.last_hash, hash=digest, **fields))
    head.last_hash = digest
    db.session.commit()


def verify():
    """(ok, first_bad_event_id_or_None) for the whole chain."""
    prev = GENESIS
    for event in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        fields = {k: getattr(event, k) for k in HASHED_FIELDS}
        if event.prev_hash != prev or event_hash(prev, fields) != event.hash:
            return False, event.id
        prev = event.hash
    head = db.session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev:
        return False, None
    return True, None


def events_of(user_id, limit=50):
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.id.desc()).limit(limit)).scalars().all()
