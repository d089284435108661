from idp.extensions import db

#: A key is published before it signs (``next``), signs while ``active``, and stays published
#: while ``retired`` until every token it signed has expired.
KEY_STATES = ("next", "active", "retired")


class SigningKey(db.Model):
    __tablename__ = "signing_keys"

    id = db.Column(db.Integer, primary_key=True)
    kid = db.Column(db.String(64), nullable=False, unique=True)
    alg = db.Column(db.String(10), nullable=False, index=True)
    state = db.Column(db.String(10), nullable=False, index=True)
    public_jwk = db.Column(db.JSON, nullable=False)
    #: AES-256-GCM ciphertext of the private JWK, bound to ``kid`` as associated data.
    private_jwk_encrypted = db.Column(db.LargeBinary, nullable=False)
    created_at = db.Column(db.Integer, nullable=False)
    activated_at = db.Column(db.Integer)
    retired_at = db.Column(db.Integer)
    #: Unix time after which a retired key is no longer published.
    publish_until = db.Column(db.Integer)
