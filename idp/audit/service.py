"""The audit log: appending events, proving the chain intact, reading and exporting it.

Every event carries the hash of the one before it (``prev_hash``) and its own ``hash`` =
SHA-256(prev_hash + canonical JSON of its fields). The one-row ``audit_head`` holds the newest
hash, so removing events at the end is as visible as removing or altering one in the middle.
Every append locks the head before reading it (``_lock_head``), so concurrent threads and
workers extend one chain on SQLite as on PostgreSQL. Reading walks the table by id in bounded
batches (keyset pagination): memory stays flat however many millions of events there are.
"""

import hashlib
import json
import re
import time
from dataclasses import asdict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from flask import has_request_context
from flask import request
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from idp.audit.models import AuditEvent
from idp.audit.models import AuditHead
from idp.extensions import db
from idp.ids import MAX_ROW_ID

GENESIS = "0" * 64
HASHED_FIELDS = ("at", "actor", "user_id", "action", "outcome", "ip", "user_agent", "detail")
#: Hashed only when set, so events written before these columns existed keep their hashes.
OPTIONAL_HASHED_FIELDS = ("role", "target")
#: Rows read per query when walking or exporting the log.
BATCH_SIZE = 1000
#: The largest page ``events()`` returns.
MAX_PAGE = 1000
#: The filters ``events()`` and ``export_lines()`` understand.
FILTERS = ("action", "actor", "role", "target", "user_id", "outcome", "since", "until")

_EVENTS = AuditEvent.__table__
#: The databases the log runs on (both serialise appends, see ``_lock_head``).
_UPSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}


class AuditQueryError(ValueError):
    """A filter or page request that cannot be answered (unknown filter, bad time, bad limit);
    the message says which, in words fit for an operator or an API error response."""


def event_hash(prev_hash, fields: dict) -> str:
    hashed = {k: fields[k] for k in HASHED_FIELDS}
    hashed.update({k: fields[k] for k in OPTIONAL_HASHED_FIELDS if fields.get(k) is not None})
    body = json.dumps(hashed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _lock_head():
    """The chain head, locked until the session commits or rolls back; created if missing.

    The first statement is a write: inserting the head unless it exists. On SQLite, which
    ignores ``FOR UPDATE``, that write takes the database's write lock (pysqlite begins the
    transaction at the first write, so this has the effect of ``BEGIN IMMEDIATE``; a caller
    whose transaction has already written holds the lock already): any other append waits
    here, and the head is read only once no other append can change it. On PostgreSQL the
    insert makes concurrent first appends create one head (the others wait for it, then
    skip), and ``FOR UPDATE`` then locks the row; waiting appends read the head as committed.
    """
    upsert = _UPSERT[db.session.get_bind(AuditHead).dialect.name]
    db.session.execute(upsert(AuditHead).values(id=1, last_hash=GENESIS)
                       .on_conflict_do_nothing())
    stmt = (select(AuditHead).where(AuditHead.id == 1).with_for_update()
            .execution_options(populate_existing=True))
    return db.session.execute(stmt).scalar_one()


def _header_text(value, limit):
    """Text from a request header (the browser, an address a proxy forwarded) as stored: its
    printable characters (PostgreSQL refuses NUL in text), at most ``limit`` of them (the
    column's length)."""
    if value is None:
        return None
    return "".join(c for c in value if c.isprintable())[:limit]


def record(action, outcome="success", *, user_id=None, actor=None, detail=None, role=None,
           target=None):
    """Append an event to the chain and **commit the session**.

    The commit is the caller's as well: whatever ``db.session`` holds (pending inserts,
    changed objects) is committed in the same transaction as the event, so the event and the
    change it records are stored together or not at all. Call it once the caller's own
    changes are complete. If the commit fails, the session is rolled back — the caller's
    pending changes with it — and the error raised again.

    The chain head stays locked (``_lock_head``) from here to the commit, so concurrent
    appends from every thread and worker line up one after the other; the time is taken once
    the lock is held, so the chain's order is also the order of ``at``.
    For a change, put the values in ``detail`` as ``{"before": …, "after": …}``.
    """
    try:
        head = _lock_head()
        fields = {
            "at": int(time.time()),
            "actor": actor or (f"user:{user_id}" if user_id else "anonymous"),
            "user_id": user_id,
            "action": action,
            "outcome": outcome,
            "ip": _header_text(request.remote_addr, 45) if has_request_context() else None,
            "user_agent": (_header_text(request.user_agent.string, 200)
                           if has_request_context() else None),
            "detail": detail or {},
            "role": role,
            "target": target,
        }
        digest = event_hash(head.last_hash, fields)
        db.session.add(AuditEvent(prev_hash=head.last_hash, hash=digest, **fields))
        head.last_hash = digest
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


# --- verification ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold. ``id``, ``at`` and ``action`` name the event
    (all None when the head names events of which none is left)."""

    id: int | None
    at: int | None
    action: str | None
    #: altered | gap | broken_link | head_mismatch | head_missing
    reason: str
    message: str


@dataclass(frozen=True)
class Verification:
    """What ``verify()`` found. ``count``: events proven (all of them when ``ok``; those before
    the break otherwise). ``head``: the hash of the last proven event (GENESIS if none)."""

    ok: bool
    count: int
    head: str
    broken: Break | None = None

    def __bool__(self):
        return self.ok

    def __iter__(self):
        """Unpacks as the former ``(ok, first_bad_event_id)`` pair."""
        yield self.ok
        yield self.broken.id if self.broken else None

    def as_dict(self):
        data = {"ok": self.ok, "events": self.count, "head": self.head}
        if self.broken:
            data["broken"] = {**asdict(self.broken), "at": iso(self.broken.at),
                              "at_epoch": self.broken.at}
        return data


def _batches(stmt, batch_size, after_id=None):
    """Rows of ``stmt`` in id order, ``batch_size`` per query (keyset pagination), as lists."""
    while True:
        page = stmt if after_id is None else stmt.where(AuditEvent.id > after_id)
        rows = db.session.execute(page.order_by(AuditEvent.id).limit(batch_size)).all()
        if not rows:
            return
        yield rows
        after_id = rows[-1].id


def _event_with_hash(digest):
    return db.session.execute(
        select(AuditEvent.id).where(AuditEvent.hash == digest).limit(1)).scalar()


def _link_break(row, previous):
    """Why ``row`` (intact in itself) does not follow ``previous`` (None: it is the first)."""
    if previous is None:
        return "gap", ("the first stored event does not start the chain (its prev_hash is not "
                       "the genesis hash): earlier events were deleted")
    linked = _event_with_hash(row.prev_hash)
    if linked is not None:
        return "broken_link", (f"it links to event {linked}, not to the preceding event "
                               f"{previous.id}: events were reordered or inserted")
    return "gap", (f"its predecessor is missing: events between {previous.id} and {row.id} "
                   f"were deleted (or event {previous.id} was rewritten with a new hash)")


def _head_break(head, last):
    """Why the head row does not name ``last``, the newest event (None: there are none)."""
    if head is None:
        return Break(last.id, last.at, last.action, "head_missing",
                     "the chain head row is missing (deleted): the chain's end is unproven")
    if last is None:
        return Break(None, None, None, "head_mismatch",
                     "the chain head names events but the table has none: all were deleted")
    named = _event_with_hash(head.last_hash)
    if named is not None:
        why = f"the chain head names event {named}, not the newest event {last.id}"
    else:
        why = ("the chain head names an event that is not stored: the newest events, those "
               "after this one, were deleted")
    return Break(last.id, last.at, last.action, "head_mismatch", why)


def verify(*, batch_size=BATCH_SIZE) -> Verification:
    """Walk the whole chain in id order and prove it, or find the first place it breaks.

    Ids only order the walk — a missing id proves nothing (a rolled-back append skips one);
    the ``prev_hash`` links are the proof. Each event must hash to its stored ``hash``
    (else *altered*) and link to the event before it (else a *gap* when the predecessor is
    gone, a *broken_link* when it links elsewhere); the head row must name the last event
    (else *head_mismatch*: events removed from the end). Events appended while the walk runs
    are walked too, so a busy log does not look truncated.
    """
    stmt = select(_EVENTS)
    prev, previous, count = GENESIS, None, 0
    while True:
        for rows in _batches(stmt, batch_size, previous.id if previous else None):
            for row in rows:
                fields = {k: getattr(row, k) for k in (*HASHED_FIELDS, *OPTIONAL_HASHED_FIELDS)}
                if event_hash(row.prev_hash, fields) != row.hash:
                    return Verification(False, count, prev, Break(
                        row.id, row.at, row.action, "altered",
                        "content altered: the stored hash does not match the event's fields"))
                if row.prev_hash != prev:
                    reason, message = _link_break(row, previous)
                    return Verification(False, count, prev,
                                        Break(row.id, row.at, row.action, reason, message))
                prev, previous, count = row.hash, row, count + 1
        # Read the head first, then look once more for newer events: whatever event the head
        # names was committed with it, so if none is found now, the head must name ``prev``.
        head = db.session.execute(select(AuditHead.last_hash).where(AuditHead.id == 1)).first()
        after = previous.id if previous else None
        if next(_batches(stmt, 1, after), None) is not None:
            continue
        if head is None and previous is None:
            return Verification(True, 0, GENESIS)
        if head is None or head.last_hash != prev:
            return Verification(False, count, prev, _head_break(head, previous))
        return Verification(True, count, prev)


# --- reading and export ---------------------------------------------------------------------

def iso(epoch):
    """``at`` as ISO 8601 in UTC (``2026-01-31T08:00:00Z``); None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value):
    """A Unix time (digits only: ``1767225600``) or an ISO 8601 date or time (``2026-01-01``,
    ``2026-01-01T08:00:00+08:00``; UTC unless it says otherwise) as a Unix time."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d{1,12}", text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise AuditQueryError(f"{value!r} is neither an ISO 8601 date or time "
                              "(2026-01-31, 2026-01-31T08:00:00+08:00) nor a Unix time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _conditions(filters):
    """SQL conditions for ``filters`` (see ``FILTERS``; None and "" mean "any")."""
    filters = {k: v for k, v in (filters or {}).items() if v is not None and v != ""}
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise AuditQueryError(f"unknown audit filter: {', '.join(unknown)} "
                              f"(known: {', '.join(FILTERS)})")
    conditions = []
    if "action" in filters:
        conditions.append(AuditEvent.action.startswith(str(filters["action"]), autoescape=True))
    for key in ("actor", "role", "target", "outcome"):
        if key in filters:
            conditions.append(getattr(AuditEvent, key) == str(filters[key]))
    if "user_id" in filters:
        conditions.append(AuditEvent.user_id == _row_id(filters["user_id"], "user_id"))
    if "since" in filters:
        conditions.append(AuditEvent.at >= parse_time(filters["since"]))
    if "until" in filters:
        conditions.append(AuditEvent.at < parse_time(filters["until"]))
    return conditions


def event_dict(event):
    """An event (a model instance or a row) as plain JSON-ready data, every stored field."""
    return {
        "id": event.id,
        "at": iso(event.at),
        "at_epoch": event.at,
        "actor": event.actor,
        "role": event.role,
        "target": event.target,
        "user_id": event.user_id,
        "action": event.action,
        "outcome": event.outcome,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _row_id(value, name, what="a whole number") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AuditQueryError(f"{name} must be {what}, not {value!r}") from None
    if not 0 <= number <= MAX_ROW_ID:
        raise AuditQueryError(f"{name} must be from 0 to {MAX_ROW_ID}")
    return number


def events(filters=None, *, after_id=None, limit=100, newest_first=False):
    """One page of events matching ``filters``, for the admin console and API.

    ``filters``: ``action`` (a prefix: ``login.`` is every login event), ``actor``, ``role``,
    ``target``, ``user_id``, ``outcome`` (exact), ``since`` (inclusive) and ``until``
    (exclusive), each an ISO 8601 date or time or a Unix time. ``after_id`` is the cursor:
    the ``next_after_id`` of the previous page. Oldest first unless ``newest_first``.
    Returns ``{"events": [event_dict, …], "next_after_id": id or None (no more)}``;
    ``AuditQueryError`` for a bad filter or limit.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise AuditQueryError(f"limit must be a whole number from 1 to {MAX_PAGE}")
    stmt = select(_EVENTS).where(*_conditions(filters))
    if after_id is not None:
        after_id = _row_id(after_id, "after_id", "an event id")
        stmt = stmt.where(AuditEvent.id < after_id if newest_first else AuditEvent.id > after_id)
    order = AuditEvent.id.desc() if newest_first else AuditEvent.id
    rows = db.session.execute(stmt.order_by(order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"events": [event_dict(r) for r in rows],
            "next_after_id": rows[-1].id if more else None}


def export_lines(filters=None, *, batch_size=BATCH_SIZE):
    """The events matching ``filters`` (as for ``events()``), oldest first, as JSON Lines:
    an iterator of ``str``, one event per line, each ending in a newline, read from the
    database ``batch_size`` at a time. Filters are checked now (``AuditQueryError``), before
    the first line is asked for; a Flask ``Response`` or a file can take the iterator as is.
    """
    stmt = select(_EVENTS).where(*_conditions(filters))

    def lines():
        for rows in _batches(stmt, batch_size):
            for row in rows:
                yield json.dumps(event_dict(row), ensure_ascii=False,
                                 separators=(",", ":")) + "\n"

    return lines()


def events_of(user_id, limit=50):
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.id.desc()).limit(limit)).scalars().all()
