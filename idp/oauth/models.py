from idp.extensions import db


class OAuthToken(db.Model):
    """One issuance to a citizen's grant: a JWT access token (by ``jti``) and, where the client
    may refresh, an opaque refresh token stored as its SHA-256. Rows of one login share a
    ``family_id``; reuse of a rotated refresh token or of a code revokes the family."""

    __tablename__ = "oauth_tokens"

    id = db.Column(db.Integer, primary_key=True)
    family_id = db.Column(db.String(43), nullable=False, index=True)
    client_id = db.Column(db.String(64), nullable=False, index=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    scope = db.Column(db.Text, nullable=False)
    access_token_jti = db.Column(db.String(43), nullable=False, index=True)
    access_expires_at = db.Column(db.Integer, nullable=False)
    refresh_token_hash = db.Column(db.String(64), unique=True)
    #: End of the family's absolute lifetime (kept across rotations).
    refresh_expires_at = db.Column(db.Integer)
    issued_at = db.Column(db.Integer, nullable=False)
    rotated_at = db.Column(db.Integer)
    revoked_at = db.Column(db.Integer)
    auth_time = db.Column(db.Integer, nullable=False)
    acr = db.Column(db.String(64))
    amr = db.Column(db.JSON)
    sid = db.Column(db.String(43))
    #: The ``claims`` request parameter of the login (OIDC Core 5.5), for userinfo.
    claims_request = db.Column(db.JSON)
    #: The enterprise the login acts for (its credit code) and what that carries: the role,
    #: what the authority rests on, the granted ``authorization_details``
    #: (``idp.enterprise.service.acting``); None when the person acts for themselves.
    acting_for = db.Column(db.String(18), index=True)
    acting = db.Column(db.JSON)

    # --- Authlib TokenMixin (refresh grant) ---------------------------------------------
    def check_client(self, client):
        return self.client_id == client.get_client_id()

    def get_scope(self):
        return self.scope

    def context(self):
        return {"auth_time": self.auth_time, "acr": self.acr, "amr": self.amr or [],
                "sid": self.sid, "family_id": self.family_id, "claims": self.claims_request,
                "refresh_expires_at": self.refresh_expires_at, "acting": self.acting}
