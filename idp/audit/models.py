from idp.extensions import db


class AuditEvent(db.Model):
    """One event. ``hash`` = SHA-256 over the previous event's hash and this event's fields,
    so altering or removing a stored event breaks every hash after it."""

    __tablename__ = "audit_events"

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.Integer, nullable=False, index=True)
    #: Who acted: "user:<id>", "admin:<id>", "client:<client_id>", "system".
    actor = db.Column(db.String(100), nullable=False)
    #: The staff role the actor acted in (admin actions), else None.
    role = db.Column(db.String(32))
    #: What an administrative act concerned: "client:<client_id>", "user:<id>", "key:<kid>".
    target = db.Column(db.String(100), index=True)
    #: The citizen the event concerns (kept as a number: events outlive accounts).
    user_id = db.Column(db.Integer, index=True)
    action = db.Column(db.String(64), nullable=False)
    outcome = db.Column(db.String(16), nullable=False)
    ip = db.Column(db.String(45))
    user_agent = db.Column(db.String(200))
    detail = db.Column(db.JSON)
    prev_hash = db.Column(db.String(64), nullable=False)
    hash = db.Column(db.String(64), nullable=False, unique=True)


class AuditHead(db.Model):
    """The chain's newest hash, one row, locked while an event is appended."""

    __tablename__ = "audit_head"

    id = db.Column(db.Integer, primary_key=True)
    last_hash = db.Column(db.String(64), nullable=False)
