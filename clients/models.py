import copy
import hashlib
import hmac
import time

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.extensions import db

CLIENT_STATES = ("pending", "active", "suspended")


def hash_secret(secret: str) -> str:
    """Client secrets and registration tokens are 256-bit random values, so one SHA-256 is
    enough to keep them out of the database in clear while staying cheap on the token hot path
    (hydra does the same for its high-entropy tokens)."""
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
        """The current secret (until ``client_secret_expires_at``, 0 = never) and, during a
        rotation's overlap, the previous one. Both digests are always compared."""
        if not isinstance(client_secret, str):
            return False
        now = time.time()
        given = hash_secret(client_secret)
        current = bool(self.client_secret_hash) and not (
            self.client_secret_expires_at and self.client_secret_expires_at <= now)
        previous = bool(self.previous_secret_hash) and (
            self.previous_secret_expires_at or 0) > now
        ok_current = hmac.compare_digest(self.client_secret_hash or "", given) and current
        ok_previous = hmac.compare_digest(self.previous_secret_hash or "", given) and previous
        return ok_current or ok_previous

    def check_endpoint_auth_method(self, method, endpoint):
        # A client that is not active authenticates only at introspection, where every
        # answer it gets is {"active": false} (idp.oauth.server.IntrospectionEndpoint).
        if not (self.is_active or endpoint == "introspection"):
            return False
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type):
        return response_type in self.response_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types

    # --- Our own ------------------------------------------------------------------------
    @property
    def is_active(self):
        return self.status == "active"

    @property
    def self_registered(self):
        """Registered by the platform itself (RFC 7591): its name is its own choice."""
        return self.registration_token_hash is not None

    @property
    def is_public(self):
        return self.token_endpoint_auth_method == "none"

    def release_claims(self, claims: dict) -> dict:
        """Policy: only the claims this platform may receive (``allowed_claims``; None = all
        that its scopes release). ``sub`` is always released."""
        if self.allowed_claims is None:
            return claims
        allowed = set(self.allowed_claims)
        released = {k: v for k, v in claims.items() if k == "sub" or k in allowed}
        verified = released.pop("verified_claims", None)  # its claims are filtered too
        inner = {k: v for k, v in (verified or {}).get("claims", {}).items() if k in allowed}
        if inner:
            released["verified_claims"] = {**verified, "claims": inner}
        return released


class Client(db.Model, ClientBehaviour):
    """A relying party: RFC 7591 / OIDC Registration metadata, its credentials (hashed) and
    the policy the operator sets for it."""

    __tablename__ = "clients"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, unique=True)
    #: SHA-256 of the current secret; None for public and private_key_jwt clients.
    client_secret_hash = db.Column(db.String(64))
    #: RFC 7591: when the current secret stops working (0 = never).
    client_secret_expires_at = db.Column(db.Integer, nullable=False, default=0)
    #: The secret replaced by the last rotation, accepted until ``previous_secret_expires_at``.
    previous_secret_hash = db.Column(db.String(64))
    previous_secret_expires_at = db.Column(db.Integer)
    #: RFC 7592: SHA-256 of the registration access token (dynamic registrations only).
    registration_token_hash = db.Column(db.String(64), unique=True)
    #: The initial access token a dynamic registration came with (its scope limit, approval).
    initial_access_token_id = db.Column(
        db.Integer, db.ForeignKey("initial_access_tokens.id", ondelete="SET NULL"))

    # --- RFC 7591 / OIDC Registration metadata --------------------------------------------
    #: ``client_name``
    name = db.Column(db.String(200), nullable=False)
    redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    post_logout_redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    grant_types = db.Column(db.JSON, nullable=False, default=list)
    response_types = db.Column(db.JSON, nullable=False, default=list)
    #: Also policy: the scopes this platform may ask for.
    scope = db.Column(db.Text, nullable=False, default="openid")
    token_endpoint_auth_method = db.Column(db.String(40), nullable=False)
    application_type = db.Column(db.String(10), nullable=False, default="web")
    jwks = db.Column(db.JSON)
    jwks_uri = db.Column(db.String(500))
    contacts = db.Column(db.JSON, nullable=False, default=list)
    logo_uri = db.Column(db.String(500))
    client_uri = db.Column(db.String(500))
    policy_uri = db.Column(db.String(500))
    tos_uri = db.Column(db.String(500))
    sector_identifier_uri = db.Column(db.String(500))
    software_id = db.Column(db.String(200))
    software_version = db.Column(db.String(100))
    subject_type = db.Column(db.String(10), nullable=False, default="pairwise")
    #: The sector keying pairwise subjects; fixed at registration (changing it would change
    #: every citizen's ``sub`` at this platform).
    sector_identifier = db.Column(db.String(255), nullable=False)
    id_token_signed_response_alg = db.Column(db.String(10), nullable=False, default="ES256")
    #: OpenID Connect Back-Channel Logout 1.0: where logout tokens are posted, and whether
    #: they must carry ``sid`` (ours always do).
    backchannel_logout_uri = db.Column(db.String(500))
    backchannel_logout_session_required = db.Column(db.Boolean, nullable=False, default=False,
                                                    server_default=db.false())
    #: OpenID Connect Front-Channel Logout 1.0: the page loaded in a frame at logout, and
    #: whether it must get ``iss`` and ``sid``.
    frontchannel_logout_uri = db.Column(db.String(500))
    frontchannel_logout_session_required = db.Column(db.Boolean, nullable=False, default=False,
                                                     server_default=db.false())

    # --- Lifecycle --------------------------------------------------------------------------
    #: pending (awaiting approval), active, suspended
    status = db.Column(db.String(10), nullable=False, default="active")
    #: Why the client was last suspended (or re-entered review).
    status_reason = db.Column(db.String(500))

    # --- Policy -----------------------------------------------------------------------------
    #: Logins for this platform need a second factor.
    require_mfa = db.Column(db.Boolean, nullable=False, default=False)
    #: The lowest level of assurance (1..4) this platform accepts.
    min_loa = db.Column(db.Integer, nullable=False, default=1)
    #: Claims this platform may receive; None = all that its scopes release.
    allowed_claims = db.Column(db.JSON)
    #: Every login asks whom the person acts for (an enterprise identity), as the
    #: ``enterprise`` scope does (``idp.enterprise.choosing``).
    enterprise_allowed = db.Column(db.Boolean, nullable=False, default=False)
    #: Token lifetimes in seconds; None = the server's defaults.
    access_token_ttl = db.Column(db.Integer)
    refresh_token_ttl = db.Column(db.Integer)
    #: A first-party platform: citizens are not asked for consent.
    skip_consent = db.Column(db.Boolean, nullable=False, default=False)

    created_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    updated_at = db.Column(db.Integer)

    def record(self):
        return ClientRecord({name: copy.deepcopy(getattr(self, name))
                             for name in ClientRecord.__slots__})


class ClientRecord(ClientBehaviour):
    """An immutable copy of a client row, safe to share between requests and threads. It has
    every column of ``Client`` (so it cannot fall behind the model)."""

    __slots__ = tuple(c.key for c in Client.__table__.columns)

    def __init__(self, values):
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name, value):
        raise AttributeError("a ClientRecord is read-only; change the Client row")


class InitialAccessToken(db.Model):
    """RFC 7591 3: a bearer token a registrar hands to a platform so that it may register
    itself at ``/connect/register``. Stored as its SHA-256; shown once."""

    __tablename__ = "initial_access_tokens"

    id = db.Column(db.Integer, primary_key=True)
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    label = db.Column(db.String(200), nullable=False)
    #: Who issued it ("admin:<id>", "cli:<user>").
    issued_by = db.Column(db.String(100), nullable=False)
    issued_at = db.Column(db.Integer, nullable=False, default=lambda: int(time.time()))
    #: The most a client registered with it may get (space-separated); None = any known scope.
    scopes = db.Column(db.Text)
    expires_at = db.Column(db.Integer, nullable=False)
    #: 1 = single use, None = unlimited.
    max_uses = db.Column(db.Integer)
    uses = db.Column(db.Integer, nullable=False, default=0)
    revoked_at = db.Column(db.Integer)
    #: A trusted issuer: its registrations are active at once instead of pending.
    auto_approve = db.Column(db.Boolean, nullable=False, default=False)

    def usable(self, now=None):
        now = time.time() if now is None else now
        return (self.revoked_at is None and self.expires_at > now
                and (self.max_uses is None or self.uses < self.max_uses))
