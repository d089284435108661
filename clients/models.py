import hashlib
import hmac
import time

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.extensions import db

CLIENT_STATES = ("pending", "active", "suspended")


def hash_secret(secret: str) -> str:
    """Client secrets are 256-bit random values, so one SHA-256 is enough to keep them out of
    the database in clear while staying cheap on the token hot path (hydra does the same for
    its high-entropy tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ClientBehaviour(ClientMixin):
    """What a relying party may do (Authlib's ClientMixin and our checks), shared by the
    database row (``Client``) and its read-only snapshot (``ClientRecord``)."""

    # --- Authlib ClientMixin ------------------------------------------------------------
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # OIDC Core 3.1.2.1: redirect_uri is required; there is no default.
        return None

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        if not self.client_secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.client_secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method, endpoint):
        return self.is_active and method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return response_type in self.response_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    # --- Our own ------------------------------------------------------------------------
    @property
    def is_active(self):
        return self.status == "active"

    @property
    def is_public(self):
        return self.token_endpoint_auth_method == "none"


class Client(db.Model, ClientBehaviour):
    __tablename__ = "clients"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, unique=True)
    client_secret_hash = db.Column(db.String(64))
    name = db.Column(db.String(200), nullable=False)
    redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    post_logout_redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    grant_types = db.Column(db.JSON, nullable=False, default=list)
    response_types = db.Column(db.JSON, nullable=False, default=list)
    scope = db.Column(db.Text, nullable=False, default="openid")
    token_endpoint_auth_method = db.Column(db.String(40), nullable=False)
    jwks = db.Column(db.JSON)
    jwks_uri = db.Column(db.String(500))
    subject_type = db.Column(db.String(10), nullable=False, default="pairwise")
    sector_identifier = db.Column(db.String(255), nullable=False)
    id_token_signed_response_alg = db.Column(db.String(10), nullable=False, default="ES256")
    status = db.Column(db.String(10), nullable=False, default="active")
    #: Policy: logins for this platform need a second factor.
    require_mfa = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))

    def record(self):
        return ClientRecord({name: getattr(self, name) for name in ClientRecord.__slots__})


class ClientRecord(ClientBehaviour):
    """An immutable copy of a client row, safe to share between requests and threads."""

    __slots__ = ("id", "client_id", "client_secret_hash", "name", "redirect_uris",
                 "post_logout_redirect_uris", "grant_types", "response_types", "scope",
                 "token_endpoint_auth_method", "jwks", "jwks_uri", "subject_type",
                 "sector_identifier", "id_token_signed_response_alg", "status", "require_mfa",
                 "created_at")

    def __init__(self, values):
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name, value):
        raise AttributeError("a ClientRecord is read-only; change the Client row")
