"""Issuing, verifying and revoking tokens.

Access tokens are JWTs (RFC 9068) signed with the active key, verified offline by relying
parties. Refresh tokens are opaque, stored as SHA-256, rotated on each use. Revoked access
tokens are remembered by ``jti`` in the shared store until they would have expired.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from clients.service import get_client
from idp.accounts.models import User
from idp.enterprise import service as enterprise
from idp.extensions import db
from idp.keys.service import keyring
from idp.oauth.claims import assurance_claims
from idp.oauth.claims import enterprise_claims
from idp.oauth.claims import subject_for
from idp.oauth.claims import verified_claims
from idp.oauth.models import OAuthToken
from idp.store import store

ACCESS_TOKEN_ALG = "ES256"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_urlsafe(32)


def _sign(header_typ, claims, alg):
    key = keyring().signing_key(alg)
    header = {"alg": alg, "kid": key.kid}
    if header_typ:
        header["typ"] = header_typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def issue(client, grant_type, user, scope, context, include_refresh_token):
    """Build the token response and the record that ``persist`` stores.

    ``context`` carries the login: auth_time, acr, amr, sid, the enterprise it acts for
    (``acting``) and, on refresh, the family. Acting for an enterprise, the access token and
    the response carry the granted ``authorization_details`` (RFC 9396) and the token ``act``
    (RFC 8693)."""
    cfg = current_app.config
    now = int(time.time())
    ttl = client.access_token_ttl or cfg["ACCESS_TOKEN_TTL"]  # per-client policy, else default
    jti = new_id()
    claims = {
        "iss": cfg["ISSUER"],
        "aud": cfg["ISSUER"],
        "exp": now + ttl,
        "iat": now,
        "jti": jti,
        "client_id": client.client_id,
        "scope": scope or "",
    }
    if user is None:
        claims["sub"] = client.client_id
    else:
        claims["sub"] = subject_for(user, client)
        claims["auth_time"] = context["auth_time"]
        if context.get("acr"):
            claims["acr"] = context["acr"]
        if context.get("amr"):
            claims["amr"] = context["amr"]
    acting = context.get("acting") if user is not None else None
    if acting:
        claims["act"] = enterprise.act_claim(acting, claims["sub"])
        claims["authorization_details"] = acting["authorization_details"]
    token = {
        "token_type": "Bearer",
        "access_token": _sign("at+jwt", claims, ACCESS_TOKEN_ALG),
        "expires_in": ttl,
        "scope": scope or "",
    }
    if acting:
        token["authorization_details"] = acting["authorization_details"]
    record = None
    if user is not None:
        refresh = secrets.token_urlsafe(32) if include_refresh_token else None
        if refresh:
            token["refresh_token"] = refresh
        record = OAuthToken(
            family_id=context.get("family_id") or new_id(),
            client_id=client.client_id,
            user_id=user.id,
            scope=scope or "",
            access_token_jti=jti,
            access_expires_at=now + ttl,
            refresh_token_hash=sha256(refresh) if refresh else None,
            refresh_expires_at=(context.get("refresh_expires_at") or now + (
                client.refresh_token_ttl or cfg["REFRESH_TOKEN_TTL"])) if refresh else None,
            issued_at=now,
            auth_time=context["auth_time"],
            acr=context.get("acr"),
            amr=context.get("amr"),
            sid=context.get("sid"),
            claims_request=context.get("claims"),
            acting_for=acting["credit_code"] if acting else None,
            acting=acting,
        )
    return token, record


def persist(record):
    if record is not None:
        db.session.add(record)
        db.session.commit()


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def id_token(client, user, scope, context, access_token=None, nonce=None):
    """OIDC Core 2 and 3.1.3.6; signed with the client's registered algorithm."""
    cfg = current_app.config
    now = int(time.time())
    claims = {
        "iss": cfg["ISSUER"],
        "sub": subject_for(user, client),
        "aud": client.client_id,
        "azp": client.client_id,
        "exp": now + cfg["ID_TOKEN_TTL"],
        "iat": now,
        "auth_time": context["auth_time"],
        "acr": context.get("acr"),
        "amr": context.get("amr") or [],
    }
    claims.update(client.release_claims({  # the platform's policy: allowed_claims
        **assurance_claims(user), **verified_claims(user, scope, context.get("claims"),
                                                     "id_token"),
        **enterprise_claims(context.get("acting"), claims["sub"])}))
    if context.get("sid"):
        claims["sid"] = context["sid"]
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = half_hash(access_token)
    return _sign(None, {k: v for k, v in claims.items() if v is not None},
                 client.id_token_signed_response_alg)


def verify_jwt(token: str, algs=("ES256", "RS256")):
    """Claims of a JWT this provider signed, or None (bad signature, wrong issuer)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 8192:
        return None
    try:
        decoded = jwt.decode(token, keyring().public_keys(), algorithms=list(algs))
    except (JoseError, ValueError, TypeError):
        return None
    if decoded.claims.get("iss") != current_app.config["ISSUER"]:
        return None
    return decoded


def verify_access_token(token: str):
    """Claims of a live access token: our signature, ``typ: at+jwt``, meant for this provider
    (``aud``), not expired, not revoked, its client still active."""
    decoded = verify_jwt(token, algs=(ACCESS_TOKEN_ALG,))
    if decoded is None or decoded.header.get("typ") != "at+jwt":
        return None
    claims = decoded.claims
    issuer, audience = current_app.config["ISSUER"], claims.get("aud")
    if audience != issuer and not (isinstance(audience, list) and issuer in audience):
        return None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return None
    return None if is_revoked(claims) else claims


def is_machine_token(claims) -> bool:
    """Whether an access token was issued to a client for itself (``client_credentials``,
    RFC 6749 4.4) rather than for a citizen's login: it has no login (``auth_time``) and its
    ``sub`` is the client's own id, as ``issue`` writes it (RFC 9068 2.2). The one place that
    tells the two apart."""
    return "auth_time" not in claims and claims.get("sub") == claims.get("client_id")


@dataclass(frozen=True)
class AccessToken:
    """A live access token and whom it speaks for: a citizen (``user``, with ``record``, the
    stored grant) or, for a machine token, only its ``client``."""

    claims: dict
    client: object
    user: User | None = None
    record: OAuthToken | None = None

    @property
    def is_machine(self) -> bool:
        return self.user is None

    @property
    def scopes(self) -> frozenset:
        return frozenset(str(self.claims.get("scope") or "").split())


def access_token(token: str) -> AccessToken | None:
    """The access token ``token`` if it is live (``verify_access_token``) and, for a
    citizen's, its grant is neither revoked nor another client's and the account is active;
    else None. The resources' verifier (``idp.bearer``)."""
    claims = verify_access_token(token)
    client = get_client(claims.get("client_id")) if claims is not None else None
    if client is None:
        return None
    if is_machine_token(claims):
        return AccessToken(claims, client)
    record = OAuthToken.query.filter_by(access_token_jti=str(claims.get("jti"))).first()
    user = db.session.get(User, record.user_id) if record is not None else None
    if (record is None or record.revoked_at or record.client_id != client.client_id
            or user is None or not user.is_active):
        return None
    if record.acting and not enterprise.still_holds(user.id, record.acting):
        return None  # it acted for an enterprise: that authority has ended
    return AccessToken(claims, client, user, record)


def authority_ended(claims) -> bool:
    """Whether an access token issued to act for an enterprise (it carries
    ``authorization_details``) no longer may: the enterprise is cancelled or revoked, or the
    appointment or authorisation ended. Checked at every use, as revocation is."""
    if "authorization_details" not in claims:
        return False
    record = OAuthToken.query.filter_by(access_token_jti=str(claims.get("jti"))).first()
    return record is None or not record.acting or not enterprise.still_holds(record.user_id,
                                                                             record.acting)


def is_revoked(claims):
    """Revoked by ``jti``, or its client is no longer active (suspension takes effect at once)."""
    if store().get("revoked:" + str(claims.get("jti"))) is not None:
        return True
    client = get_client(claims.get("client_id"))
    return client is None or not client.is_active


def revoke_access_token(jti, exp):
    left = int(exp - time.time())
    if left > 0:
        store().set("revoked:" + jti, 1, left + 1)


def revoke_family(family_id):
    """Revoke every token of one login: refresh tokens and the access tokens issued with them
    (RFC 9700 4.14.2, RFC 6749 4.1.2)."""
    now = int(time.time())
    rows = OAuthToken.query.filter_by(family_id=family_id).all()
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now
        revoke_access_token(row.access_token_jti, row.access_expires_at)
    db.session.commit()
    return len(rows)


def find_refresh_token(refresh_token):
    if not isinstance(refresh_token, str) or not refresh_token or len(refresh_token) > 512:
        return None
    return OAuthToken.query.filter_by(refresh_token_hash=sha256(refresh_token)).first()


def claim_refresh_token(row):
    """Mark a refresh token used, atomically; False when another request used it first."""
    now = int(time.time())
    done = db.session.execute(
        db.update(OAuthToken)
        .where(OAuthToken.id == row.id, OAuthToken.rotated_at.is_(None),
               OAuthToken.revoked_at.is_(None))
        .values(rotated_at=now)
    ).rowcount
    db.session.commit()
    return done == 1


def revoke_grants(sender, user_id, client_id, **_extra):
    """The citizen withdrew a platform's consent: its refresh and access tokens stop."""
    families = {row.family_id for row in OAuthToken.query.filter_by(
        user_id=user_id, client_id=client_id, revoked_at=None)}
    for family in families:
        revoke_family(family)


def revoke_client(sender, client_id, **_extra):
    """The client was deleted (``clients.signals.client_deleted``): every refresh token issued
    to it is revoked and its live access tokens are remembered as revoked."""
    now = int(time.time())
    for jti, exp in db.session.execute(
            db.select(OAuthToken.access_token_jti, OAuthToken.access_expires_at).where(
                OAuthToken.client_id == client_id, OAuthToken.access_expires_at > now)):
        revoke_access_token(jti, exp)
    db.session.execute(db.update(OAuthToken).where(
        OAuthToken.client_id == client_id, OAuthToken.revoked_at.is_(None)).values(revoked_at=now))
    db.session.commit()


#: The event of a logout token (OpenID Connect Back-Channel Logout 1.0 2.4).
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_token(client, subject, sid):
    """A logout token for ``client`` (OpenID Connect Back-Channel Logout 1.0 2.4): ``typ``
    ``logout+jwt``, signed like the client's ID tokens (its algorithm, the active key, ``kid``),
    with ``iss``, ``aud``, ``iat``, a short ``exp`` (``LOGOUT_TOKEN_TTL``), a fresh ``jti``,
    the logout event, ``sid`` and, when known, ``sub`` (the platform's own subject: pairwise
    for pairwise platforms); never a ``nonce``. Returns (token, jti)."""
    cfg = current_app.config
    now = int(time.time())
    jti = new_id()
    claims = {"iss": cfg["ISSUER"], "aud": client.client_id, "iat": now,
              "exp": now + cfg["LOGOUT_TOKEN_TTL"], "jti": jti,
              "events": {BACKCHANNEL_LOGOUT_EVENT: {}}, "sid": sid}
    if subject:
        claims["sub"] = subject
    return _sign("logout+jwt", claims, client.id_token_signed_response_alg), jti
