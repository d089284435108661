import time

from idp.extensions import db

#: Levels of assurance of an identity binding (README, "Levels of assurance").
DECLARED, REGISTRY, FACE, IN_PERSON = 1, 2, 3, 4


class IdentityBinding(db.Model):
    """The identity document an account is bound to: one per account, and — through the blind
    index — one account per document. Name and number are sealed (AES-256-GCM, ``pii.py``);
    nothing here is readable without the PII keys."""

    __tablename__ = "identity_bindings"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, unique=True)
    doc_type = db.Column(db.String(32), nullable=False)
    #: Keyed HMAC of the normalised document: enforces one person, one account.
    blind_index = db.Column(db.String(64), nullable=False, unique=True)
    #: ``kid`` of the PII key that sealed ``sealed``.
    key_id = db.Column(db.String(32), nullable=False)
    #: JSON {"name", "number", "nationality"} sealed under ``key_id``.
    sealed = db.Column(db.LargeBinary, nullable=False)
    level = db.Column(db.Integer, nullable=False, default=DECLARED)
    #: How the current level was reached: "declared", "registry", "face", "counter".
    source = db.Column(db.String(16), nullable=False, default="declared")
    #: The verification service's transaction reference, or the clerk's account id.
    reference = db.Column(db.String(100))
    verified_at = db.Column(db.Integer)
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    updated_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()),
                           onupdate=lambda: int(time.time()))
