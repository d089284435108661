"""Enterprises (legal persons) and who may act for them.

* ``Enterprise``: one per unified social credit code; its legal representative is a citizen's
  account. ``verification`` says where its facts come from: ``declared`` by an operator
  (``idp enterprises create``) or matched by the legal-person ``registry``.
* ``Appointment``: an administrator or a handler of an enterprise, for all matters
  (``matters`` None) or a list of them, from ``starts_at`` until ``ends_at`` (None: until
  ended). Appointments made in self-service are ``invited`` until the person accepts; an
  operator's are ``active`` at once. ``granted_by_id`` is the administrator's appointment it
  was made under: ending that ends this.
* ``Authorisation``: the third-party authorisation of an agent firm (``agent_id``) by an
  enterprise (``principal_id``) for matters and a period; the firm's own people then act for
  the principal within it.

Times are Unix seconds (the periods people give, ``starts_at`` and ``ends_at``, in 64 bits: they
may lie beyond 2038). Nothing here holds a person's name or document number.
"""

import time

from idp.accounts.models import User
from idp.extensions import db

ENTERPRISE_STATES = ("operating", "cancelled", "revoked")
OPERATING = "operating"
ROLES = ("administrator", "handler")
APPOINTMENT_STATES = ("invited", "active", "declined", "ended")


def _now():
    return int(time.time())


class Enterprise(db.Model):
    __tablename__ = "enterprises"

    id = db.Column(db.Integer, primary_key=True)
    credit_code = db.Column(db.String(18), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    #: ``idp.enterprise.codes.ENTITY_TYPES``
    entity_type = db.Column(db.String(60), nullable=False)
    #: operating, cancelled (注销) or revoked (吊销)
    status = db.Column(db.String(10), nullable=False, default=OPERATING)
    status_reason = db.Column(db.String(500))
    legal_representative_id = db.Column(db.Integer, db.ForeignKey("users.id",
                                                                   ondelete="SET NULL"),
                                         index=True)
    #: declared (by an operator) or registry (matched by the legal-person registry)
    verification = db.Column(db.String(10), nullable=False, default="declared")
    verified_at = db.Column(db.Integer)
    #: the registry's transaction id of the last match
    reference = db.Column(db.String(100))
    created_at = db.Column(db.Integer, nullable=False, default=_now)
    updated_at = db.Column(db.Integer, nullable=False, default=_now, onupdate=_now)

    legal_representative = db.relationship(User)

    @property
    def is_operating(self):
        return self.status == OPERATING


class Appointment(db.Model):
    __tablename__ = "enterprise_appointments"
    __table_args__ = (db.Index("ix_enterprise_appointments_user_status", "user_id", "status"),)

    id = db.Column(db.Integer, primary_key=True)
    enterprise_id = db.Column(db.Integer, db.ForeignKey("enterprises.id", ondelete="CASCADE"),
                              nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False)
    #: administrator or handler
    role = db.Column(db.String(20), nullable=False)
    #: matter codes; None = all matters
    matters = db.Column(db.JSON)
    #: (the two dates people type: beyond 2038, hence 64 bits)
    starts_at = db.Column(db.BigInteger, nullable=False)
    ends_at = db.Column(db.BigInteger)
    #: invited, active, declined or ended
    status = db.Column(db.String(10), nullable=False)
    #: who appointed (``user:<id>``, ``cli:<user>``, ``user:<id>`` of staff) and as what
    appointed_by = db.Column(db.String(100), nullable=False)
    appointed_as = db.Column(db.String(30), nullable=False)
    granted_by_id = db.Column(db.Integer, db.ForeignKey("enterprise_appointments.id",
                                                        ondelete="SET NULL"), index=True)
    created_at = db.Column(db.Integer, nullable=False, default=_now)
    accepted_at = db.Column(db.Integer)
    ended_at = db.Column(db.Integer)
    ended_by = db.Column(db.String(100))
    end_reason = db.Column(db.String(200))

    enterprise = db.relationship(Enterprise, lazy="joined")
    person = db.relationship(User, lazy="joined")

    def in_force(self, now):
        return (self.status == "active" and self.starts_at <= now
                and (self.ends_at is None or self.ends_at > now))


class Authorisation(db.Model):
    __tablename__ = "enterprise_authorisations"

    id = db.Column(db.Integer, primary_key=True)
    principal_id = db.Column(db.Integer, db.ForeignKey("enterprises.id", ondelete="CASCADE"),
                             nullable=False, index=True)
    agent_id = db.Column(db.Integer, db.ForeignKey("enterprises.id", ondelete="CASCADE"),
                         nullable=False, index=True)
    matters = db.Column(db.JSON)
    starts_at = db.Column(db.BigInteger, nullable=False)
    ends_at = db.Column(db.BigInteger, nullable=False)
    #: active or ended
    status = db.Column(db.String(10), nullable=False, default="active")
    granted_by = db.Column(db.String(100), nullable=False)
    granted_as = db.Column(db.String(30), nullable=False)
    granted_by_appointment_id = db.Column(
        db.Integer, db.ForeignKey("enterprise_appointments.id", ondelete="SET NULL"),
        index=True)
    created_at = db.Column(db.Integer, nullable=False, default=_now)
    ended_at = db.Column(db.Integer)
    ended_by = db.Column(db.String(100))
    end_reason = db.Column(db.String(200))

    principal = db.relationship(Enterprise, foreign_keys=[principal_id], lazy="joined")
    agent = db.relationship(Enterprise, foreign_keys=[agent_id], lazy="joined")
