import time
import uuid

from idp.extensions import db

ACCOUNT_STATES = ("active", "locked", "disabled")


class User(db.Model):
    """A citizen (natural person). Enterprise links, factors and identity documents live in
    their own tables and point here."""

    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    #: Stable internal identifier; subject identifiers are derived from it, never from the phone.
    uuid = db.Column(db.String(36), nullable=False, unique=True, default=lambda: str(uuid.uuid4()))
    phone = db.Column(db.String(20), nullable=False, unique=True)  # E.164
    phone_verified = db.Column(db.Boolean, nullable=False, default=False)
    email = db.Column(db.String(254), unique=True)
    email_verified = db.Column(db.Boolean, nullable=False, default=False)
    username = db.Column(db.String(64), unique=True)
    name = db.Column(db.String(100))
    status = db.Column(db.String(10), nullable=False, default="active")
    locked_until = db.Column(db.Integer)
    lock_reason = db.Column(db.String(200))
    #: Consecutive failed logins (reset by a successful one) and when the last happened.
    failed_logins = db.Column(db.Integer, nullable=False, default=0)
    last_failed_at = db.Column(db.Integer)
    #: Consecutive wrong second-factor answers, across logins (reset by a right one).
    failed_factors = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    #: Level of assurance of the identity binding (1 self-declared .. 4 in person).
    loa = db.Column(db.Integer, nullable=False, default=1)
    password_hash = db.Column(db.String(255))
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    updated_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()),
                           onupdate=lambda: int(time.time()))

    def get_user_id(self):
        return self.id

    @property
    def is_active(self):
        return self.status == "active"


class Consent(db.Model):
    """Scopes a citizen has allowed a client; a request within them needs no consent page."""

    __tablename__ = "consents"
    __table_args__ = (db.UniqueConstraint("user_id", "client_id"),)

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    client_id = db.Column(db.String(64), nullable=False)
    scope = db.Column(db.Text, nullable=False)
    granted_at = db.Column(db.Integer, nullable=False)

    def covers(self, scopes):
        return set(scopes) <= set(self.scope.split())
