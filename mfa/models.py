import time

from idp.extensions import db


class Factor(db.Model):
    """An enrolled authenticator of a citizen. TOTP rows keep the sealed secret and the last
    accepted time step; WebAuthn rows keep the credential's public key and signature count."""

    __tablename__ = "mfa_factors"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    kind = db.Column(db.String(16), nullable=False)
    name = db.Column(db.String(64), nullable=False)
    #: False while a TOTP enrolment awaits its first code.
    confirmed = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    last_used_at = db.Column(db.Integer)
    # TOTP
    secret_sealed = db.Column(db.LargeBinary)
    last_timecode = db.Column(db.BigInteger)
    # WebAuthn
    credential_id = db.Column(db.String(1024), unique=True)  # base64url
    public_key = db.Column(db.LargeBinary)
    sign_count = db.Column(db.BigInteger)
    transports = db.Column(db.JSON)
    aaguid = db.Column(db.String(36))
    #: "hwk" (hardware-bound key) or "swk" (synced passkey), for ``amr``.
    key_type = db.Column(db.String(3))


class RecoveryCode(db.Model):
    """Single-use codes, stored as SHA-256 (they are random, 50+ bits each)."""

    __tablename__ = "mfa_recovery_codes"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    code_hash = db.Column(db.String(64), nullable=False)
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    used_at = db.Column(db.Integer)
