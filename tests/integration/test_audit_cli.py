"""``idp audit verify`` and ``idp audit export``, as operators and cron jobs run them."""

import json

import pytest
from freezegun import freeze_time
from sqlalchemy import event
from sqlalchemy import text

from idp.audit import service as audit
from idp.audit.models import AuditEvent
from idp.extensions import db


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def run(cli, *args):
    return cli.invoke(args=["audit", *args], catch_exceptions=False)


def _sql(app, statement, **params):
    with app.app_context():
        db.session.execute(text(statement), params)
        db.session.commit()


def _events(app):
    with app.app_context():
        rows = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars()
        return [(e.id, e.action, e.hash) for e in rows]


@pytest.fixture
def chain(app):
    """Five events at known times, some by staff with a role and a target."""
    with app.app_context(), freeze_time("2026-03-01T08:00:00Z") as clock:
        audit.record("login.success", user_id=1)
        clock.tick(60)
        audit.record("login.failure", "failure", user_id=2, detail={"reason": "password"})
        clock.tick(60)
        audit.record("clients.suspend", actor="admin:9", role="client_registrar",
                     target="client:tax", detail={"before": {"active": True},
                                                  "after": {"active": False}})
        clock.tick(60)
        audit.record("users.unlock", actor="admin:9", role="user_admin", target="user:2",
                     user_id=2)
        clock.tick(60)
        audit.record("account.password_change", user_id=1, detail={"说明": "本人"})
    return _events(app)


def test_verify_an_intact_chain(cli, chain):
    r = run(cli, "verify")
    assert r.exit_code == 0, r.output
    assert r.output == f"audit chain intact: 5 events, head {chain[-1][2]}\n"
    r = run(cli, "verify", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output) == {"ok": True, "events": 5, "head": chain[-1][2]}


def test_verify_an_empty_log(cli):
    r = run(cli, "verify")
    assert r.exit_code == 0 and r.output == f"audit chain intact: 0 events, head {'0' * 64}\n"


def test_verify_names_an_altered_event(app, cli, chain):
    event_id = chain[1][0]
    _sql(app, "UPDATE audit_events SET detail = :d WHERE id = :id",
         d='{"reason": "otp"}', id=event_id)
    r = run(cli, "verify")
    assert r.exit_code == 1
    assert (f"audit chain BROKEN at event {event_id} (2026-03-01T08:01:00Z, login.failure): "
            "altered: content altered") in r.output
    assert f"1 events before it are intact, up to head {chain[0][2]}" in r.output
    r = run(cli, "verify", "--json")
    assert r.exit_code == 1
    assert json.loads(r.output) == {
        "ok": False, "events": 1, "head": chain[0][2],
        "broken": {"id": event_id, "at": "2026-03-01T08:01:00Z", "at_epoch": 1772352060,
                   "action": "login.failure", "reason": "altered",
                   "message": "content altered: the stored hash does not match the event's "
                              "fields"}}


def test_verify_names_an_altered_role(app, cli, chain):
    _sql(app, "UPDATE audit_events SET role = 'super_admin' WHERE id = :id", id=chain[2][0])
    r = run(cli, "verify")
    assert r.exit_code == 1 and f"at event {chain[2][0]} " in r.output
    assert "clients.suspend): altered" in r.output


def test_verify_names_the_event_after_a_deleted_one(app, cli, chain):
    _sql(app, "DELETE FROM audit_events WHERE id = :id", id=chain[2][0])
    r = run(cli, "verify")
    assert r.exit_code == 1
    assert (f"at event {chain[3][0]} (2026-03-01T08:03:00Z, users.unlock): gap: its "
            f"predecessor is missing: events between {chain[1][0]} and {chain[3][0]} were "
            "deleted") in r.output


def test_verify_names_a_truncated_end(app, cli, chain):
    _sql(app, "DELETE FROM audit_events WHERE id >= :id", id=chain[3][0])
    r = run(cli, "verify", "--json")
    assert r.exit_code == 1
    broken = json.loads(r.output)["broken"]
    assert (broken["id"], broken["action"], broken["reason"]) == (
        chain[2][0], "clients.suspend", "head_mismatch")
    r = run(cli, "verify")
    assert r.exit_code == 1 and "head_mismatch: the chain head names an event that is not " \
        "stored: the newest events, those after this one, were deleted" in r.output


def test_verify_with_small_batches(app, cli, chain):
    assert run(cli, "verify", "--batch-size", "2").exit_code == 0
    _sql(app, "UPDATE audit_events SET at = at + 1 WHERE id = :id", id=chain[4][0])
    r = run(cli, "verify", "--batch-size", "2")
    assert r.exit_code == 1 and f"at event {chain[4][0]} " in r.output


# --- export ---------------------------------------------------------------------------------

def _export(cli, *args):
    r = run(cli, "export", *args)
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_export_everything(cli, chain):
    lines = _export(cli)
    assert [(e["id"], e["action"], e["hash"]) for e in lines] == chain
    suspend = lines[2]
    assert suspend == {
        "id": chain[2][0], "at": "2026-03-01T08:02:00Z", "at_epoch": 1772352120,
        "actor": "admin:9", "role": "client_registrar", "target": "client:tax",
        "user_id": None, "action": "clients.suspend", "outcome": "success", "ip": None,
        "user_agent": None, "detail": {"before": {"active": True}, "after": {"active": False}},
        "prev_hash": chain[1][2], "hash": chain[2][2]}
    assert lines[0]["prev_hash"] == "0" * 64 and lines[4]["detail"] == {"说明": "本人"}


@pytest.mark.parametrize("args, actions", [
    (["--action", "login."], ["login.success", "login.failure"]),
    (["--action", "users.unlock"], ["users.unlock"]),
    (["--actor", "admin:9"], ["clients.suspend", "users.unlock"]),
    (["--actor", "user:1"], ["login.success", "account.password_change"]),
    (["--target", "client:tax"], ["clients.suspend"]),
    (["--role", "user_admin"], ["users.unlock"]),
    (["--user-id", "2"], ["login.failure", "users.unlock"]),
    (["--user-id", "2", "--outcome", "failure"], ["login.failure"]),
    (["--since", "2026-03-01T08:02:00Z"],
     ["clients.suspend", "users.unlock", "account.password_change"]),
    (["--since", "2026-03-01T16:01:00+08:00", "--until", "1772352180"],
     ["login.failure", "clients.suspend"]),
    (["--until", "2026-03-01"], []),
    (["--since", "2026-03-02"], []),
    (["--since", "2026-03-01", "--until", "2026-03-02", "--actor", "admin:9",
      "--action", "clients"], ["clients.suspend"]),
])
def test_export_filters(cli, chain, args, actions):
    assert [e["action"] for e in _export(cli, *args)] == actions


def test_export_to_a_file(cli, chain, tmp_path):
    out = tmp_path / "audit.jsonl"
    r = run(cli, "export", "--action", "login.", "--output", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert f"exported 2 events to {out}" in r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["action"] for line in lines] == ["login.success", "login.failure"]


@pytest.mark.parametrize("args, message", [
    (["--since", "last tuesday"], "Invalid value for '--since'"),
    (["--until", "2026-13-01"], "Invalid value for '--until'"),
    (["--user-id", "seven"], "Invalid value for '--user-id'"),
])
def test_export_refuses_bad_input(cli, args, message):
    r = run(cli, "export", *args)
    assert r.exit_code == 2 and message in r.output


def _thousand(app):
    with app.app_context():
        prev, rows = audit.GENESIS, []
        for i in range(1000):
            fields = {"at": 1772352000 + i, "actor": f"user:{i % 10}", "user_id": i % 10,
                      "action": "login.success", "outcome": "success", "ip": "198.51.100.9",
                      "user_agent": "bulk", "detail": {"n": i}, "role": None, "target": None}
            digest = audit.event_hash(prev, fields)
            rows.append({**fields, "prev_hash": prev, "hash": digest})
            prev = digest
        db.session.execute(db.insert(AuditEvent), rows)
        db.session.execute(text("INSERT INTO audit_head (id, last_hash) VALUES (1, :h)"),
                           {"h": prev})
        db.session.commit()
        return prev


def test_export_and_verify_of_a_thousand_events_stream(app, cli):
    head = _thousand(app)
    reads = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM audit_events" in statement:
            reads.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        lines = _export(cli, "--batch-size", "50")
        assert len(lines) == 1000 and lines[-1]["hash"] == head
        assert len(reads) == 21 and all("LIMIT" in s.upper() for s in reads)
        reads.clear()
        r = run(cli, "verify", "--batch-size", "50")
        assert r.exit_code == 0 and r.output == f"audit chain intact: 1000 events, head {head}\n"
        assert 21 <= len(reads) <= 23
        reads.clear()
        assert len(_export(cli, "--user-id", "3", "--batch-size", "40")) == 100
        assert len(reads) == 4  # 40 + 40 + 20, then an empty page
    finally:
        event.remove(engine, "before_cursor_execute", count)
