"""The audit log is a hash chain: altering, removing or re-linking a stored event is detected
and named; reading and export filter and page through it in bounded batches."""

import hashlib
import json
import threading

import pytest
from freezegun import freeze_time
from sqlalchemy import event
from sqlalchemy import text

from idp.audit import service as audit
from idp.audit.models import AuditEvent
from idp.audit.models import AuditHead
from idp.extensions import db
from tests.conftest import make_app


def _sql(statement, **params):
    """Tamper as someone with database access would: raw SQL, committed."""
    db.session.execute(text(statement), params)
    db.session.commit()
    db.session.expire_all()


def _ids():
    return db.session.execute(db.select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()


def _event(event_id):
    return db.session.get(AuditEvent, event_id)


def _chain(n, **kw):
    for i in range(n):
        audit.record(f"test.e{i}", user_id=1, **kw)
    return _ids()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_chain_verifies_and_detects_tampering(app):
    with app.test_request_context(headers={"User-Agent": "pytest"},
                                  environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        audit.record("login.failure", "failure", user_id=1, detail={"reason": "password"})
        audit.record("login.success", user_id=1)
        audit.record("keys.rotate", actor="system")
        result = audit.verify()
        last = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id.desc())).scalar()
        assert result.ok and result.count == 3 and result.head == last.hash
        assert result.broken is None and tuple(result) == (True, None)
        first = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars().first()
        assert first.ip == "203.0.113.7" and first.user_agent == "pytest"
        assert [e.action for e in audit.events_of(1)] == ["login.success", "login.failure"]
        _sql("UPDATE audit_events SET outcome = 'success' WHERE id = :id", id=first.id)
        result = audit.verify()
        assert not result and tuple(result) == (False, first.id)
        assert (result.broken.id, result.broken.action, result.broken.reason) == (
            first.id, "login.failure", "altered")
        assert result.count == 0 and result.head == audit.GENESIS


def test_an_empty_log_is_intact(ctx):
    assert audit.verify() == audit.Verification(True, 0, audit.GENESIS)


def test_altering_detail_names_that_event(ctx):
    ids = _chain(5)
    _sql("UPDATE audit_events SET detail = :d WHERE id = :id", d='{"x": 1}', id=ids[3])
    result = audit.verify(batch_size=2)
    assert (result.broken.id, result.broken.reason, result.count) == (ids[3], "altered", 3)
    assert result.head == _event(ids[2]).hash


def test_removing_a_middle_event_is_a_gap_at_the_next(ctx):
    ids = _chain(5)
    _sql("DELETE FROM audit_events WHERE id = :id", id=ids[2])
    result = audit.verify(batch_size=2)
    assert (result.broken.id, result.broken.action, result.broken.reason) == (
        ids[3], "test.e3", "gap")
    assert f"between {ids[1]} and {ids[3]}" in result.broken.message


def test_removing_the_first_event_is_a_gap(ctx):
    ids = _chain(3)
    _sql("DELETE FROM audit_events WHERE id = :id", id=ids[0])
    result = audit.verify()
    assert (result.broken.id, result.broken.reason) == (ids[1], "gap")
    assert "genesis" in result.broken.message


def test_holes_in_the_ids_are_no_break(ctx):
    """Ids only order the walk (a rolled-back append leaves a hole in them); the links prove."""
    ids = _chain(3)
    _sql("UPDATE audit_events SET id = id + 100 WHERE id = :id", id=ids[2])
    _sql("UPDATE audit_events SET id = id + 50 WHERE id = :id", id=ids[1])
    assert audit.verify(batch_size=1) == audit.Verification(True, 3, _event(ids[2] + 100).hash)


def test_removing_the_newest_event_leaves_the_head_naming_it(ctx):
    ids = _chain(3)
    _sql("DELETE FROM audit_events WHERE id = :id", id=ids[-1])
    result = audit.verify()
    assert (result.broken.id, result.broken.action, result.broken.reason) == (
        ids[1], "test.e1", "head_mismatch")
    assert result.count == 2 and "deleted" in result.broken.message


def test_removing_every_event_or_the_head_is_detected(ctx):
    ids = _chain(2)
    _sql("DELETE FROM audit_head")
    result = audit.verify()
    assert (result.broken.id, result.broken.reason) == (ids[-1], "head_missing")
    _sql("DELETE FROM audit_events")
    assert audit.verify().ok  # nothing left to prove, nothing claiming otherwise
    _chain(2)
    _sql("DELETE FROM audit_events")
    result = audit.verify()
    assert (result.broken.id, result.broken.reason) == (None, "head_mismatch")


def test_relinking_an_event_to_another_is_a_broken_link(ctx):
    """A forger who recomputes one event's hash to skip its predecessor still breaks a link."""
    ids = _chain(3)
    a, c = _event(ids[0]), _event(ids[2])
    fields = {k: getattr(c, k) for k in (*audit.HASHED_FIELDS, *audit.OPTIONAL_HASHED_FIELDS)}
    forged = audit.event_hash(a.hash, fields)
    _sql("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :id",
         p=a.hash, h=forged, id=ids[2])
    _sql("UPDATE audit_head SET last_hash = :h", h=forged)
    result = audit.verify()
    assert (result.broken.id, result.broken.reason) == (ids[2], "broken_link")
    assert f"links to event {ids[0]}, not to the preceding event {ids[1]}" in (
        result.broken.message)


def test_a_rewritten_event_with_a_new_hash_breaks_the_next_link(ctx):
    ids = _chain(3)
    b = _event(ids[1])
    fields = {k: getattr(b, k) for k in (*audit.HASHED_FIELDS, *audit.OPTIONAL_HASHED_FIELDS)}
    fields["outcome"] = "failure"
    _sql("UPDATE audit_events SET outcome = 'failure', hash = :h WHERE id = :id",
         h=audit.event_hash(b.prev_hash, fields), id=ids[1])
    result = audit.verify()
    assert (result.broken.id, result.broken.reason) == (ids[2], "gap")
    assert f"event {ids[1]} was rewritten" in result.broken.message


def test_events_with_and_without_role_and_target_verify(ctx):
    audit.record("login.success", user_id=7)
    audit.record("clients.suspend", actor="admin:3", role="client_registrar",
                 target="client:abc", detail={"before": {"active": True},
                                              "after": {"active": False}})
    audit.record("users.unlock", actor="admin:3", role="user_admin")
    audit.record("keys.rotate", actor="system", target="key:k1")
    result = audit.verify()
    assert result.ok and result.count == 4
    plain = _event(_ids()[0])
    # an event without them hashes exactly as before the columns existed
    body = json.dumps({k: getattr(plain, k) for k in audit.HASHED_FIELDS}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    assert plain.hash == hashlib.sha256((plain.prev_hash + body).encode()).hexdigest()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET role = 'super_admin' WHERE action = 'clients.suspend'",
    "UPDATE audit_events SET target = NULL WHERE action = 'clients.suspend'",
    "UPDATE audit_events SET role = 'super_admin' WHERE action = 'login.success'",
    "UPDATE audit_events SET target = 'user:1' WHERE action = 'login.success'",
])
def test_setting_or_clearing_role_or_target_is_an_alteration(ctx, statement):
    audit.record("login.success", user_id=7)
    audit.record("clients.suspend", actor="admin:3", role="client_registrar",
                 target="client:abc")
    _sql(statement)
    assert audit.verify().broken.reason == "altered"


def test_events_appended_during_a_walk_are_not_taken_for_truncation(ctx, monkeypatch):
    _chain(4)
    real = audit._batches
    appended = []

    def batches(stmt, size, after_id=None):
        yield from real(stmt, size, after_id)
        if not appended and size > 1:  # another worker appends once the walk has ended
            appended.append(True)
            audit.record("late")

    monkeypatch.setattr(audit, "_batches", batches)
    result = audit.verify(batch_size=3)
    assert appended and result.ok and result.count == 5


def test_record_commits_the_callers_session_or_rolls_it_back(ctx):
    audit.record("first")
    db.session.add(AuditHead(id=2, last_hash="x"))
    audit.record("with.caller.change")
    assert db.session.get(AuditHead, 2) is not None  # committed with the event
    _sql("DELETE FROM audit_head WHERE id = 2")
    db.session.add(AuditHead(id=3, last_hash=None))  # the caller's change cannot be stored
    with pytest.raises(Exception, match="(?i)null"):
        audit.record("lost")
    audit.record("after")  # the session is usable again
    actions = db.session.execute(db.select(AuditEvent.action).order_by(AuditEvent.id))
    assert actions.scalars().all() == ["first", "with.caller.change", "after"]
    assert audit.verify().ok


# --- reading --------------------------------------------------------------------------------

def _sample():
    with freeze_time("2026-01-01T00:00:00Z") as clock:
        audit.record("login.success", user_id=1)
        clock.tick(3600)
        audit.record("login.failure", "failure", user_id=2, detail={"reason": "password"})
        clock.tick(3600)
        audit.record("clients.create", actor="admin:9", role="client_registrar",
                     target="client:c1")
        clock.tick(3600)
        audit.record("loginx.other", user_id=1)
        clock.tick(3600)
        audit.record("users.unlock", actor="admin:9", role="user_admin", target="user:2",
                     user_id=2)


def _actions(filters, **kw):
    return [e["action"] for e in audit.events(filters, **kw)["events"]]


@pytest.mark.parametrize("filters, actions", [
    ({}, ["login.success", "login.failure", "clients.create", "loginx.other", "users.unlock"]),
    ({"action": "login."}, ["login.success", "login.failure"]),
    ({"action": "login"}, ["login.success", "login.failure", "loginx.other"]),
    ({"action": "login_"}, []),  # LIKE wildcards are taken literally
    ({"action": "users.unlock"}, ["users.unlock"]),
    ({"actor": "admin:9"}, ["clients.create", "users.unlock"]),
    ({"actor": "user:1"}, ["login.success", "loginx.other"]),
    ({"role": "user_admin"}, ["users.unlock"]),
    ({"target": "client:c1"}, ["clients.create"]),
    ({"user_id": 2}, ["login.failure", "users.unlock"]),
    ({"user_id": "2", "outcome": "failure"}, ["login.failure"]),
    ({"since": "2026-01-01T02:00:00Z"}, ["clients.create", "loginx.other", "users.unlock"]),
    ({"since": "2026-01-01T10:00:00+08:00", "until": 1767236400}, ["clients.create"]),
    ({"since": "2026-01-01T10:00:00+08:00", "until": 1767236401},
     ["clients.create", "loginx.other"]),
    ({"until": "2026-01-01"}, []),
    ({"since": "2026-01-01", "until": "2026-01-02", "action": None, "actor": ""},
     ["login.success", "login.failure", "clients.create", "loginx.other", "users.unlock"]),
])
def test_events_filters(ctx, filters, actions):
    _sample()
    assert _actions(filters) == actions


def test_events_pages_both_ways(ctx):
    _sample()
    page = audit.events({}, limit=2)
    assert [e["action"] for e in page["events"]] == ["login.success", "login.failure"]
    page = audit.events({}, limit=2, after_id=page["next_after_id"])
    assert [e["action"] for e in page["events"]] == ["clients.create", "loginx.other"]
    page = audit.events({}, limit=2, after_id=page["next_after_id"])
    assert [e["action"] for e in page["events"]] == ["users.unlock"]
    assert page["next_after_id"] is None
    page = audit.events({"actor": "admin:9"}, limit=1, newest_first=True)
    assert [e["action"] for e in page["events"]] == ["users.unlock"]
    page = audit.events({"actor": "admin:9"}, limit=1, newest_first=True,
                        after_id=page["next_after_id"])
    assert [e["action"] for e in page["events"]] == ["clients.create"]
    assert page["next_after_id"] is None  # a full last page already says "no more"


def test_events_are_complete_json_ready_records(ctx):
    _sample()
    e = audit.events({"target": "client:c1"})["events"][0]
    stored = _event(e["id"])
    assert e == {"id": stored.id, "at": "2026-01-01T02:00:00Z", "at_epoch": 1767232800,
                 "actor": "admin:9", "role": "client_registrar", "target": "client:c1",
                 "user_id": None, "action": "clients.create", "outcome": "success", "ip": None,
                 "user_agent": None, "detail": {}, "prev_hash": stored.prev_hash,
                 "hash": stored.hash}
    json.dumps(e)


@pytest.mark.parametrize("filters, kw, message", [
    ({"who": "x"}, {}, "unknown audit filter: who"),
    ({"since": "yesterday"}, {}, "neither an ISO 8601"),
    ({"user_id": "seven"}, {}, "user_id must be a whole number"),
    ({}, {"limit": 0}, "limit must be"),
    ({}, {"limit": 1001}, "limit must be"),
    ({}, {"after_id": "x"}, "after_id must be an event id"),
])
def test_events_refuses_bad_requests(ctx, filters, kw, message):
    with pytest.raises(audit.AuditQueryError, match=message):
        audit.events(filters, **kw)
    if not kw:
        with pytest.raises(audit.AuditQueryError, match=message):
            audit.export_lines(filters)  # at once, not at the first line


@pytest.mark.parametrize("value, epoch", [
    ("1767225600", 1767225600), (1767225600, 1767225600), ("2026-01-01", 1767225600),
    ("2026-01-01T08:00:00+08:00", 1767225600), ("2026-01-01T00:00:00Z", 1767225600),
    ("2026-01-01 01:00", 1767229200), (None, None), ("", None),
])
def test_parse_time(value, epoch):
    assert audit.parse_time(value) == epoch


def _count_queries(table="audit_events"):
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if f"FROM {table}" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(db.engine, "before_cursor_execute", before)


def _bulk_chain(n):
    """``n`` well-chained events in one transaction (quicker than ``n`` appends)."""
    prev, rows = audit.GENESIS, []
    for i in range(n):
        fields = {"at": 1767225600 + i, "actor": f"user:{i % 7}", "user_id": i % 7,
                  "action": "login.success" if i % 2 else "login.failure",
                  "outcome": "success" if i % 2 else "failure", "ip": "198.51.100.1",
                  "user_agent": "bulk", "detail": {"n": i}, "role": None,
                  "target": f"user:{i % 7}" if i % 3 == 0 else None}
        digest = audit.event_hash(prev, fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    db.session.execute(db.insert(AuditEvent), rows)
    db.session.add(AuditHead(id=1, last_hash=prev))
    db.session.commit()
    return prev


def test_export_and_verify_read_in_batches(ctx):
    head = _bulk_chain(1000)
    statements, stop = _count_queries()
    try:
        lines = audit.export_lines({}, batch_size=100)
        assert statements == []  # nothing read before the first line is asked for
        first = next(lines)
        assert len(statements) == 1 and "LIMIT" in statements[0].upper()
        rest = list(lines)
        assert len(statements) == 11  # ten pages of 100, one empty
        statements.clear()
        result = audit.verify(batch_size=250)
        assert result.ok and result.count == 1000 and result.head == head
        assert len(statements) <= 7  # four pages, one empty, a look for late appends
    finally:
        stop()
    exported = [json.loads(line) for line in (first, *rest)]
    assert len(exported) == 1000 and all(line.endswith("\n") for line in rest)
    # an unfiltered export can be proven without the database
    prev = audit.GENESIS
    for e in exported:
        fields = {**e, "at": e["at_epoch"]}
        assert e["prev_hash"] == prev and audit.event_hash(prev, fields) == e["hash"]
        prev = e["hash"]
    assert prev == head


# --- concurrency (a SQLite file and PostgreSQL) -----------------------------------------------

@pytest.fixture
def shared_app(app, database_url, tmp_path):
    """An app whose database all threads share: PostgreSQL, or a SQLite file (in-memory SQLite
    is a database per thread). Its appends run on real connections, one per thread."""
    if database_url:
        yield app
        return
    shared = make_app(f"sqlite:///{tmp_path / 'audit.db'}")
    yield shared
    with shared.app_context():
        db.engine.dispose()


def _appenders(app, workers, per_worker, start=None, action="worker{w}.e{i}", **request):
    """``workers`` threads, each appending ``per_worker`` events (in a request context built
    from ``request``, when given) at the same moment; returns the exceptions they met."""
    errors = []
    barrier = threading.Barrier(workers)

    def append(w):
        try:
            context = app.test_request_context(**request) if request else app.app_context()
            with context:
                barrier.wait()
                for i in range(per_worker):
                    audit.record(action.format(w=w, i=i))
                db.session.remove()
        except Exception as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    if start:
        start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_appends_make_one_intact_chain(shared_app):
    # an empty log: the first appends also race to create the head row
    errors = _appenders(shared_app, workers=8, per_worker=15)
    assert errors == []
    with shared_app.app_context():
        result = audit.verify()
        assert result.ok and result.count == 120, result
        ats = db.session.execute(db.select(AuditEvent.at).order_by(AuditEvent.id)).scalars()
        ats = ats.all()
        assert ats == sorted(ats)  # chain order is time order
        db.session.remove()


def test_identical_concurrent_events_are_all_stored_and_chained(shared_app):
    """Sixteen requests with the same headers writing the same event in the same second: the
    events differ only in their predecessor, so each is stored, linked to the one before."""
    with freeze_time("2026-03-01T08:00:00Z"):
        errors = _appenders(shared_app, workers=16, per_worker=1, action="login.failure",
                            headers={"User-Agent": "same"},
                            environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert errors == []
    with shared_app.app_context():
        result = audit.verify()
        assert result.ok and result.count == 16, result
        hashes = db.session.execute(db.select(AuditEvent.prev_hash, AuditEvent.hash)).all()
        assert len({prev for prev, _ in hashes}) == 16  # no two events share a predecessor
        db.session.remove()


def test_verify_while_others_append(shared_app):
    app = shared_app
    results = []

    def verify_repeatedly():
        with app.app_context():
            for _ in range(15):
                results.append(audit.verify(batch_size=7))
            db.session.remove()

    errors = _appenders(app, workers=3, per_worker=30, start=verify_repeatedly)
    assert errors == [] and len(results) == 15
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    with app.app_context():
        assert audit.verify().count == 90
        db.session.remove()
