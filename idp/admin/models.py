import time

from idp.extensions import db

#: What a staff member may do; an account may hold several roles.
ROLES = ("super_admin", "client_registrar", "user_admin", "auditor", "counter_clerk")


class StaffRole(db.Model):
    __tablename__ = "staff_roles"
    __table_args__ = (db.UniqueConstraint("user_id", "role"),)

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    role = db.Column(db.String(32), nullable=False)
    granted_by = db.Column(db.String(100), nullable=False)
    granted_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))


#: Roles a client may act in with its own (client_credentials) tokens at the admin API.
CLIENT_ROLES = tuple(r for r in ROLES if r != "counter_clerk")


class ClientRole(db.Model):
    """A role a relying party's own access tokens (client_credentials, scope ``admin``) carry
    at the admin API: the machine counterpart of ``StaffRole``, granted by an operator."""

    __tablename__ = "client_roles"
    __table_args__ = (db.UniqueConstraint("client_id", "role"),)

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), db.ForeignKey("clients.client_id", ondelete="CASCADE"),
                          nullable=False, index=True)
    role = db.Column(db.String(32), nullable=False)
    granted_by = db.Column(db.String(100), nullable=False)
    granted_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
