from idp.extensions import db

#: pending: to be sent (again) at ``next_attempt_at``; delivered: the platform answered 2xx;
#: refused: it answered 4xx (a definite no: not retried); failed: no success before
#: ``expires_at`` (given up).
DELIVERY_STATES = ("pending", "delivered", "refused", "failed")


class LogoutDelivery(db.Model):
    """One back-channel logout owed to one platform (OpenID Connect Back-Channel Logout 1.0):
    the durable queue that ``idp logout worker`` (and the attempt right after the logout)
    works through, and the record an administrator reads. The token itself is not kept: each
    attempt signs a new one from ``sid`` and ``sub`` (``jti`` is the last one sent)."""

    __tablename__ = "logout_deliveries"
    __table_args__ = (db.Index("ix_logout_deliveries_due", "status", "next_attempt_at"),
                      db.Index("ix_logout_deliveries_client", "client_id", "created_at"))

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), db.ForeignKey("clients.client_id", ondelete="CASCADE"),
                          nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The ended session's ``sid`` and the citizen's ``sub`` at this platform.
    sid = db.Column(db.String(64), nullable=False)
    sub = db.Column(db.String(255))
    #: How the session ended (``session_ended``'s reason).
    reason = db.Column(db.String(32), nullable=False)
    status = db.Column(db.String(10), nullable=False, default="pending")
    created_at = db.Column(db.Integer, nullable=False)
    #: Attempts stop after this (``LOGOUT_DELIVERY_WINDOW`` after the logout).
    expires_at = db.Column(db.Integer, nullable=False)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    #: When the next attempt is due (pending only). A worker taking a delivery moves it past
    #: its attempt (a lease), so two workers never send it at once.
    next_attempt_at = db.Column(db.Integer)
    last_attempt_at = db.Column(db.Integer)
    #: The platform's last HTTP status, or why no answer came.
    last_status = db.Column(db.Integer)
    last_error = db.Column(db.String(200))
    jti = db.Column(db.String(64))
    delivered_at = db.Column(db.Integer)
