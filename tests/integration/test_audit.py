"""The audit log is a hash chain: tampering with a stored event is detected."""

from sqlalchemy import text

from idp.audit import service as audit
from idp.audit.models import AuditEvent
from idp.extensions import db


def test_chain_verifies_and_detects_tampering(app):
    with app.test_request_context(headers={"User-Agent": "pytest"},
                                  environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        audit.record("login.failure", "failure", user_id=1, detail={"reason": "password"})
        audit.record("login.success", user_id=1)
        audit.record("keys.rotate", actor="system")
        assert audit.verify() == (True, None)
        first = db.session.execute(db.select(AuditEvent).order_by(AuditEvent.id)).scalars().first()
        assert first.ip == "203.0.113.7" and first.user_agent == "pytest"
        assert [e.action for e in audit.events_of(1)] == ["login.success", "login.failure"]
        db.session.execute(text("UPDATE audit_events SET outcome = 'success' WHERE id = :id"),
                           {"id": first.id})
        db.session.commit()
        db.session.expire_all()
        assert audit.verify() == (False, first.id)


def test_removing_the_newest_event_is_detected(app):
    with app.app_context():
        audit.record("a")
        audit.record("b")
        newest = db.select(AuditEvent).order_by(AuditEvent.id.desc())
        last = db.session.execute(newest).scalars().first()
        db.session.delete(last)
        db.session.commit()
        assert audit.verify() == (False, None)
