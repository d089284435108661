"""Regional identity providers this provider accepts logins from (``upstreams``) and the
national accounts linked to someone at one of them (``upstream_links``)."""

import time

from flask import current_app

from idp.crypto import open_sealed
from idp.extensions import db


class Upstream(db.Model):
    """An OpenID Connect provider of a region, registered by an administrator: where it is
    (``issuer``; its discovery document is ``{issuer}/.well-known/openid-configuration``), the
    client it knows us as (``client_id``, the secret sealed at rest), how it authenticates
    (``auth_method``), what we ask of it (``scope``), which of its claims give ours
    (``claim_map``: our name → its name) and what its ``acr`` values mean here (``acr_map``:
    its value → our level), the highest level its logins count for (``max_level``) and
    whether it is offered at all (``enabled``)."""

    __tablename__ = "upstreams"

    id = db.Column(db.Integer, primary_key=True)
    slug = db.Column(db.String(32), nullable=False, unique=True)
    name = db.Column(db.String(100), nullable=False)
    issuer = db.Column(db.String(255), nullable=False)
    client_id = db.Column(db.String(255), nullable=False)
    client_secret_sealed = db.Column(db.LargeBinary, nullable=False)
    auth_method = db.Column(db.String(32), nullable=False, default="client_secret_basic")
    scope = db.Column(db.String(255), nullable=False, default="openid profile phone")
    claim_map = db.Column(db.JSON, nullable=False, default=dict)
    acr_map = db.Column(db.JSON, nullable=False, default=dict)
    max_level = db.Column(db.Integer, nullable=False)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    created_by = db.Column(db.String(100), nullable=False)
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    updated_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()),
                           onupdate=lambda: int(time.time()))

    @property
    def callback_url(self) -> str:
        """Where it sends the browser back, after a login and after a logout there: the
        address an operator registers with it (contract: ``{issuer}/upstream/{slug}/callback``)."""
        return f"{current_app.config['ISSUER']}/upstream/{self.slug}/callback"

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def client_secret(self) -> str:
        return open_sealed(self.client_secret_sealed, secret_context(self.slug)).decode()


def secret_context(slug) -> str:
    """What an upstream's sealed client secret is bound to (``idp.crypto.seal``)."""
    return f"upstream-secret:{slug}"


class UpstreamLink(db.Model):
    """A national account and who its citizen is at a regional provider (``subject``: that
    provider's ``sub`` for us): one link per person there, and per account."""

    __tablename__ = "upstream_links"
    __table_args__ = (db.UniqueConstraint("upstream_id", "subject",
                                          name="uq_upstream_links_subject"),
                      db.UniqueConstraint("upstream_id", "user_id",
                                          name="uq_upstream_links_user"))

    id = db.Column(db.Integer, primary_key=True)
    upstream_id = db.Column(db.Integer, db.ForeignKey("upstreams.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    subject = db.Column(db.String(255), nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    last_login_at = db.Column(db.Integer)

    upstream = db.relationship(Upstream, lazy="joined")
