"""The client registry: registering relying parties, their metadata and policy, approval and
suspension, secrets and their rotation, and initial access tokens. (Usage figures, which read
the protocol layer's records too, are the administration's: ``idp.admin.service.usage``.)

Every change is audited (``idp.audit``) with the actor, the fields before and after (never a
secret or a hash) and the target ``client:<client_id>``; the audit event is committed with
the change. The admin console, its API, the CLI and the registration endpoints all act
through these functions.
"""

import secrets
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from clients.cache import client_cache
from clients.fetch import fetch_for
from clients.models import CLIENT_STATES
from clients.models import Client
from clients.models import InitialAccessToken
from clients.models import hash_secret
from clients.signals import client_deleted
from clients.validation import AUTH_METHODS  # noqa: F401  (re-exported)
from clients.validation import GRANT_TYPES  # noqa: F401  (re-exported)
from clients.validation import METADATA_FIELDS
from clients.validation import POLICY_DEFAULTS
from clients.validation import POLICY_FIELDS
from clients.validation import SECRET_METHODS
from clients.validation import SUBJECT_TYPES  # noqa: F401  (re-exported)
from clients.validation import ClientValidationError
from clients.validation import is_loopback  # noqa: F401  (re-exported)
from clients.validation import normalize
from clients.validation import sector_for
from clients.validation import unusable_character
from clients.validation import validate_redirect_uri  # noqa: F401  (re-exported)
from idp.audit import service as audit
from idp.extensions import db

#: Fields whose change by the platform itself (RFC 7592) sends an approved client back to
#: review, unless its initial access token approves automatically.
#: Changes a platform makes to its own registration that send it back to review: what it can
#: do, and what citizens see of it on the consent page (a new name or logo could mislead).
REVIEWED_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "grant_types",
                   "token_endpoint_auth_method", "application_type", "jwks", "jwks_uri",
                   "sector_identifier_uri", "scope", "subject_type", "client_name", "logo_uri",
                   "client_uri", "policy_uri", "tos_uri", "backchannel_logout_uri",
                   "frontchannel_logout_uri")
MAX_ROTATION_OVERLAP = 30 * 86400
MAX_IAT_LIFETIME = 365 * 86400

__all__ = [
    "ClientNotFound", "ClientValidationError", "InitialAccessTokenNotFound", "client_metadata",
    "client_row", "create_client", "delete_client", "get_client", "issue_initial_access_token",
    "list_clients", "list_initial_access_tokens", "register_client",
    "revoke_initial_access_token", "rotate_secret", "set_status", "update_client",
]


class ClientNotFound(LookupError):
    """No client has this client_id."""


class InitialAccessTokenNotFound(LookupError):
    """No initial access token has this id."""


# --- Reading -----------------------------------------------------------------------------------

def get_client(client_id):
    """A read-only ``ClientRecord``, or None (see ``clients.cache``)."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64 or (
            unusable_character(client_id)):  # a client assertion's sub, before its signature
        return None
    return client_cache().get(client_id)


def client_row(client_id) -> Client:
    """The client's database row; ``ClientNotFound`` if there is none."""
    row = None
    if isinstance(client_id, str) and 0 < len(client_id) <= 64:
        row = db.session.execute(
            select(Client).where(Client.client_id == client_id)).scalar_one_or_none()
    if row is None:
        raise ClientNotFound(f"no client {client_id!r}")
    return row


def _values(client) -> dict:
    """The client's metadata and policy under their RFC 7591 / policy names."""
    values = {name: client.name if name == "client_name" else getattr(client, name)
              for name in METADATA_FIELDS}
    values.update({name: getattr(client, name) for name in POLICY_FIELDS})
    return values


def client_metadata(client) -> dict:
    """RFC 7591 3.2.1 shape (metadata that is set, ``client_id``, ``client_id_issued_at``,
    ``client_secret_expires_at`` for a client with a secret) plus our policy fields under the
    same names and ``status``. Never a secret or a hash."""
    data = {"client_id": client.client_id, "client_id_issued_at": client.created_at}
    for name, value in _values(client).items():
        if name in POLICY_FIELDS or value is not None:
            data[name] = value
    if client.token_endpoint_auth_method in SECRET_METHODS:
        data["client_secret_expires_at"] = client.client_secret_expires_at or 0
    data["status"] = client.status
    if client.status_reason:
        data["status_reason"] = client.status_reason
    return data


def list_clients(*, query: str | None = None, status: str | None = None, page: int = 1,
                 per_page: int = 50) -> tuple[list[Client], int]:
    """A page of clients (newest first) whose name contains ``query`` (ignoring case) or
    whose client_id starts with it; and how many match in all."""
    if status is not None and status not in CLIENT_STATES:
        raise ClientValidationError("invalid_request",
                                    f"status must be one of {', '.join(CLIENT_STATES)}")
    page, per_page = max(1, int(page)), min(max(1, int(per_page)), 500)
    conditions = []
    if status:
        conditions.append(Client.status == status)
    if query and query.strip():
        q = query.strip()[:200]
        conditions.append(or_(Client.name.icontains(q, autoescape=True),
                              Client.client_id.startswith(q, autoescape=True)))
    total = db.session.execute(
        select(func.count()).select_from(Client).where(*conditions)).scalar_one()
    rows = db.session.execute(
        select(Client).where(*conditions).order_by(Client.created_at.desc(), Client.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return list(rows), total


# --- Registering -------------------------------------------------------------------------------

def _new_secret():
    """A secret (shown once) and its column values: the hash and RFC 7591
    ``client_secret_expires_at`` (0 = never; ``CLIENT_SECRET_LIFETIME`` seconds if set)."""
    secret = secrets.token_urlsafe(32)
    lifetime = int(current_app.config["CLIENT_SECRET_LIFETIME"] or 0)
    expires = int(time.time()) + lifetime if lifetime > 0 else 0
    return secret, {"client_secret_hash": hash_secret(secret), "client_secret_expires_at": expires}


def _apply(client, values):
    for name, value in values.items():
        if name == "client_name":
            client.name = value
        elif name != "sector_identifier":
            setattr(client, name, value)


def _shown(values: dict) -> dict:
    """Values fit for an audit event: a JWK Set is summarised by its key ids."""
    shown = dict(values)
    if isinstance(shown.get("jwks"), dict):
        shown["jwks"] = {"kids": [k.get("kid") for k in shown["jwks"].get("keys", [])]}
    return shown


def default_client_name(values: dict, client_id: str) -> str:
    """What citizens see of a platform that registered itself without a ``client_name``
    (RFC 7591 2): the host it sends them back to (a native app: its private-use scheme), else
    the host of its ``client_uri``, else its client_id."""
    for uri in (*values["redirect_uris"], values.get("client_uri")):
        if uri:
            parts = urlsplit(uri)
            if parts.hostname or parts.scheme:
                return parts.hostname or parts.scheme
    return client_id


def _name_client(values: dict, client_id: str) -> dict:
    """Fill in a missing ``client_name``; returns what the audit event says of it."""
    if values["client_name"] is not None:
        return {}
    values["client_name"] = default_client_name(values, client_id)
    return {"client_name_given": False}


def _new_client_id():
    """128 random bits, never starting with "-" (it would read as an option on a command line)."""
    while True:
        client_id = secrets.token_urlsafe(16)
        if client_id[0] != "-":
            return client_id


def register_client(metadata: dict, *, actor: str, role: str | None = None,
                    status: str = "active") -> tuple[Client, str | None]:
    """Register a client from RFC 7591 metadata (and policy fields under the same names;
    unknown names are ignored). Returns the client and its secret (shown once; None for
    ``none`` and ``private_key_jwt``)."""
    client, secret, _token = _register(metadata, actor=actor, role=role, status=status)
    return client, secret


def _register(metadata, *, actor, role=None, status="active", policy=True, scope_limit=None,
              initial_access_token=None, registration_token=False):
    if status not in CLIENT_STATES:
        raise ClientValidationError("invalid_request",
                                    f"status must be one of {', '.join(CLIENT_STATES)}")
    values = normalize(metadata, fetched=fetch_for(metadata), policy=policy,
                       scope_limit=scope_limit)
    if not policy:
        values.update({k: v for k, v in POLICY_DEFAULTS.items()})
    client_id = _new_client_id()
    sector = sector_for(values, client_id)
    if initial_access_token is not None and not _claim(initial_access_token):
        db.session.rollback()
        raise InitialAccessTokenUsedUp()
    unnamed = _name_client(values, client_id)
    client = Client(client_id=client_id, status=status, sector_identifier=sector,
                    created_at=int(time.time()))
    if unnamed and status == "pending":  # the reviewer sees it beside the status
        client.status_reason = (f"registered without a client_name: citizens see "
                                f"{values['client_name']!r}")
    _apply(client, values)
    secret = None
    if values["token_endpoint_auth_method"] in SECRET_METHODS:
        secret, columns = _new_secret()
        _apply(client, columns)
    token = None
    if registration_token:
        token = secrets.token_urlsafe(32)
        client.registration_token_hash = hash_secret(token)
    if initial_access_token is not None:
        client.initial_access_token_id = initial_access_token.id
    db.session.add(client)
    after = _shown({**values, "sector_identifier": sector, "status": status})
    detail = {"before": {}, "after": after, **unnamed}
    if initial_access_token is not None:
        detail["initial_access_token"] = initial_access_token.id
    audit.record("client.registered", actor=actor, role=role, target=f"client:{client_id}",
                 detail=detail)
    return client, secret, token


def create_client(*, name, redirect_uris=(), auth_method="client_secret_basic",
                  grant_types=("authorization_code", "refresh_token"), scope="openid profile",
                  jwks=None, jwks_uri=None, subject_type="pairwise", sector_identifier=None,
                  id_token_alg=None, post_logout_redirect_uris=(), require_mfa=False,
                  actor="system", **policy):
    """The older keyword interface (tests, ``dev bootstrap``): an active client."""
    metadata = {
        "client_name": name, "redirect_uris": list(redirect_uris),
        "token_endpoint_auth_method": auth_method, "grant_types": list(grant_types),
        "scope": scope, "jwks": jwks, "jwks_uri": jwks_uri, "subject_type": subject_type,
        "sector_identifier": sector_identifier, "id_token_signed_response_alg": id_token_alg,
        "post_logout_redirect_uris": list(post_logout_redirect_uris),
        "require_mfa": bool(require_mfa), **policy,
    }
    return register_client(metadata, actor=actor)


# --- Changing ----------------------------------------------------------------------------------

def update_client(client_id: str, changes: dict, *, actor, role=None) -> Client:
    """Change metadata and policy fields (a partial update: fields not named stay). Unknown
    or read-only names are refused. The pairwise sector cannot change (every citizen's
    ``sub`` at the platform would). A switch to ``client_secret_*`` leaves the client without
    a secret until ``rotate_secret``; a switch away drops its secrets."""
    client = client_row(client_id)
    if not isinstance(changes, dict):
        raise ClientValidationError("invalid_client_metadata", "changes must be an object")
    unknown = sorted(set(changes) - set(METADATA_FIELDS) - set(POLICY_FIELDS))
    if unknown:
        raise ClientValidationError(
            "invalid_client_metadata", f"not a field that can be changed: {', '.join(unknown)}")
    merged = {**_values(client), **changes}
    if "grant_types" in changes and "response_types" not in changes:
        merged.pop("response_types")  # derived again from the new grant types
    _update(client, merged, actor=actor, role=role, policy=True)
    return client


def _update(client, data, *, actor, role=None, policy=True, scope_limit=None, review=False):
    """Validate ``data`` as the client's complete metadata and store what changed. Returns
    (changed field names, a new secret or None)."""
    values = normalize(data, fetched=fetch_for(data), policy=policy, scope_limit=scope_limit)
    unnamed = _name_client(values, client.client_id)
    before_all = _values(client)
    if policy:
        if values["sector_identifier"] not in (None, client.sector_identifier):
            raise ClientValidationError(
                "invalid_client_metadata",
                "the sector of pairwise subjects cannot change once registered")
        values.pop("sector_identifier")
    new_uri = values["sector_identifier_uri"]
    # The pairwise sector never moves: a platform changing its own registration (RFC 7592)
    # keeps its redirect URIs (or sector_identifier_uri) on its sector's host, else it would
    # receive another platform's subject identifiers. The operator may move redirect URIs.
    recheck = (not policy and values["subject_type"] == "pairwise") or (
        new_uri and new_uri != client.sector_identifier_uri)
    if recheck and sector_for({**values, "sector_identifier": None},
                              client.client_id) != client.sector_identifier:
        raise ClientValidationError(
            "invalid_client_metadata",
            "the redirect URIs and sector_identifier_uri must stay on the host of the client's "
            f"pairwise sector ({client.sector_identifier}): the sector cannot change")
    changed = {k: v for k, v in values.items() if before_all.get(k) != v}
    secret = None
    if not changed:
        return changed, secret
    before = {k: before_all.get(k) for k in changed}
    _apply(client, changed)
    method = client.token_endpoint_auth_method
    if method not in SECRET_METHODS:
        client.client_secret_hash = client.previous_secret_hash = None
        client.previous_secret_expires_at = None
        client.client_secret_expires_at = 0
    elif review and client.client_secret_hash is None:
        secret, columns = _new_secret()  # RFC 7592 2.2: the server issues it
        _apply(client, columns)
    client.updated_at = int(time.time())
    detail = {"before": _shown(before), "after": _shown(changed), **unnamed}
    if review and client.status == "active" and any(k in changed for k in REVIEWED_FIELDS):
        iat = (db.session.get(InitialAccessToken, client.initial_access_token_id)
               if client.initial_access_token_id else None)
        if iat is None or not iat.auto_approve or iat.revoked_at is not None or (
                iat.expires_at <= time.time()):
            client.status = "pending"
            client.status_reason = "metadata changed by the client: awaiting review"
            detail["before"]["status"], detail["after"]["status"] = "active", "pending"
    audit.record("client.updated", actor=actor, role=role, target=f"client:{client.client_id}",
                 detail=detail)
    return changed, secret


def set_status(client_id: str, status: str, *, actor, role=None,
               reason: str | None = None) -> Client:
    """Approve (pending → active), suspend, re-activate, or send back to review (pending).
    A client that is not active cannot log anyone in, obtain or refresh tokens, and its
    access tokens introspect as inactive; nothing is revoked, so re-activation restores the
    tokens that have not expired meanwhile. Setting the status it has is a no-op."""
    if status not in CLIENT_STATES:
        raise ClientValidationError("invalid_request",
                                    f"status must be one of {', '.join(CLIENT_STATES)}")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500
                               or not reason.isprintable()):
        raise ClientValidationError("invalid_request",
                                    "reason: at most 500 printable characters")
    client = client_row(client_id)
    if client.status == status:
        return client
    before = {"status": client.status}
    after = {"status": status}
    if reason:
        after["reason"] = reason
    client.status = status
    client.status_reason = reason if status != "active" else None
    client.updated_at = int(time.time())
    if status == "active":
        action = "client.approved" if before["status"] == "pending" else "client.activated"
    else:
        action = "client.suspended" if status == "suspended" else "client.sent_to_review"
    audit.record(action, actor=actor, role=role, target=f"client:{client_id}",
                 detail={"before": before, "after": after})
    return client


def rotate_secret(client_id: str, *, actor, role=None, overlap_seconds: int | None = None) -> str:
    """A new secret (returned once, stored hashed). The previous one keeps working for
    ``overlap_seconds`` (default ``CLIENT_SECRET_ROTATION_OVERLAP``, 86400; 0 = stops at
    once), never beyond its own expiry; a rotation during an overlap ends the older one."""
    client = client_row(client_id)
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise ClientValidationError(
            "invalid_client_metadata",
            f"a {client.token_endpoint_auth_method} client has no secret to rotate")
    if overlap_seconds is None:
        overlap_seconds = current_app.config["CLIENT_SECRET_ROTATION_OVERLAP"]
    if isinstance(overlap_seconds, bool) or not isinstance(overlap_seconds, int) or not (
            0 <= overlap_seconds <= MAX_ROTATION_OVERLAP):
        raise ClientValidationError(
            "invalid_request", f"the overlap is 0 to {MAX_ROTATION_OVERLAP} seconds")
    now = int(time.time())
    previous_until = now + overlap_seconds
    if client.client_secret_expires_at:
        previous_until = min(previous_until, client.client_secret_expires_at)
    if client.client_secret_hash and previous_until > now:
        client.previous_secret_hash = client.client_secret_hash
        client.previous_secret_expires_at = previous_until
    else:
        client.previous_secret_hash = client.previous_secret_expires_at = None
    before = {"client_secret_expires_at": client.client_secret_expires_at}
    secret, columns = _new_secret()
    _apply(client, columns)
    client.updated_at = now
    after = {"client_secret_expires_at": client.client_secret_expires_at,
             "previous_secret_valid_until": client.previous_secret_expires_at}
    audit.record("client.secret_rotated", actor=actor, role=role, target=f"client:{client_id}",
                 detail={"before": before, "after": after, "overlap_seconds": overlap_seconds})
    return secret


def new_secret(client):
    """A new secret at once, without overlap (``dev bootstrap``)."""
    return rotate_secret(client.client_id, actor="system", overlap_seconds=0)


def delete_client(client_id: str, *, actor, role=None) -> None:
    """Remove the client; every token issued to it is revoked (``client_deleted``)."""
    client = client_row(client_id)
    before = {"client_name": client.name, "status": client.status}
    db.session.delete(client)
    audit.record("client.deleted", actor=actor, role=role, target=f"client:{client_id}",
                 detail={"before": before, "after": {}})
    client_deleted.send(current_app._get_current_object(), client_id=client_id)


# --- Initial access tokens (RFC 7591 3) --------------------------------------------------------

class InitialAccessTokenUsedUp(Exception):
    """Another registration took the token's last use first."""


def issue_initial_access_token(*, actor, role=None, label: str, expires_in: int,
                               max_uses: int | None = 1, scopes: str | None = None,
                               auto_approve: bool = False) -> tuple[InitialAccessToken, str]:
    """A bearer token for ``POST /connect/register`` (returned once, stored hashed): valid
    ``expires_in`` seconds, for ``max_uses`` registrations (None = unlimited), registering
    clients with at most ``scopes`` (None = any scope this provider knows), pending unless
    ``auto_approve``."""
    label = (label or "").strip() if isinstance(label, str) else ""
    if not label or len(label) > 200 or not label.isprintable():
        raise ClientValidationError("invalid_request",
                                    "a label of 1 to 200 printable characters is needed")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not (
            60 <= expires_in <= MAX_IAT_LIFETIME):
        raise ClientValidationError(
            "invalid_request", f"expires_in is 60 to {MAX_IAT_LIFETIME} seconds")
    if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int)
                                 or not 1 <= max_uses <= 1_000_000):
        raise ClientValidationError("invalid_request", "max_uses is 1 or more (or unlimited)")
    if scopes is not None:
        from clients.validation import check_scope

        try:  # scopes this provider knows (no grant type allows others here)
            scopes = check_scope(scopes, [])
        except ClientValidationError as exc:
            raise ClientValidationError("invalid_request", exc.description) from None
    token = secrets.token_urlsafe(32)
    now = int(time.time())
    iat = InitialAccessToken(token_hash=hash_secret(token), label=label, issued_by=actor,
                             issued_at=now, scopes=scopes, expires_at=now + expires_in,
                             max_uses=max_uses, uses=0, auto_approve=bool(auto_approve))
    db.session.add(iat)
    db.session.flush()
    audit.record("client.iat_issued", actor=actor, role=role, target=f"iat:{iat.id}",
                 detail={"before": {}, "after": {
                     "label": label, "expires_at": iat.expires_at, "max_uses": max_uses,
                     "scopes": scopes, "auto_approve": bool(auto_approve)}})
    return iat, token


def revoke_initial_access_token(token_id: int, *, actor, role=None) -> None:
    """No further registration with this token (clients it registered stay). Idempotent."""
    iat = db.session.get(InitialAccessToken, token_id) if isinstance(token_id, int) else None
    if iat is None:
        raise InitialAccessTokenNotFound(f"no initial access token {token_id!r}")
    if iat.revoked_at is not None:
        return
    iat.revoked_at = int(time.time())
    audit.record("client.iat_revoked", actor=actor, role=role, target=f"iat:{iat.id}",
                 detail={"before": {"revoked_at": None}, "after": {"revoked_at": iat.revoked_at}})


def list_initial_access_tokens() -> list[InitialAccessToken]:
    return list(db.session.execute(
        select(InitialAccessToken).order_by(InitialAccessToken.id.desc())).scalars())


def find_initial_access_token(token: str) -> InitialAccessToken | None:
    """The usable token with this value, or None (unknown, revoked, expired, used up)."""
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    iat = db.session.execute(select(InitialAccessToken).where(
        InitialAccessToken.token_hash == hash_secret(token))).scalar_one_or_none()
    return iat if iat is not None and iat.usable() else None


def _claim(iat) -> bool:
    """Take one use of the token, atomically, in the caller's transaction."""
    now = int(time.time())
    done = db.session.execute(
        update(InitialAccessToken)
        .where(InitialAccessToken.id == iat.id, InitialAccessToken.revoked_at.is_(None),
               InitialAccessToken.expires_at > now,
               or_(InitialAccessToken.max_uses.is_(None),
                   InitialAccessToken.uses < InitialAccessToken.max_uses))
        .values(uses=InitialAccessToken.uses + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return done == 1


# --- Dynamic registration (RFC 7591 / RFC 7592) ----------------------------------------------

#: Scopes a platform gets only when a registrar's initial access token names them: the
#: administration API, identity document numbers and acting for enterprises.
PRIVILEGED_SCOPES = {"admin", "id_number", "enterprise"}


def _self_registration_scopes(iat):
    """The scopes a client registered with ``iat`` may hold."""
    if iat is not None and iat.scopes:
        return set(iat.scopes.split())
    return set(current_app.config["SCOPES_SUPPORTED"]) - PRIVILEGED_SCOPES


def register_dynamic(metadata: dict, iat: InitialAccessToken):
    """``POST /connect/register``: (client, secret or None, registration access token)."""
    return _register(
        {k: metadata[k] for k in (*METADATA_FIELDS, "software_statement") if k in metadata},
        actor=f"iat:{iat.id}", status="active" if iat.auto_approve else "pending",
        policy=False, scope_limit=_self_registration_scopes(iat),
        initial_access_token=iat, registration_token=True)


def find_registration(client_id: str, token: str) -> Client | None:
    """The client whose registration access token this is, if its client_id matches."""
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    client = db.session.execute(select(Client).where(
        Client.registration_token_hash == hash_secret(token))).scalar_one_or_none()
    return client if client is not None and client.client_id == client_id else None


def replace_registration(client: Client, metadata: dict):
    """RFC 7592 2.2: ``metadata`` replaces the client's (omitted fields become empty or their
    defaults); policy stays the operator's. Returns a new secret when the client moves to a
    secret-based method without one, else None."""
    iat = (db.session.get(InitialAccessToken, client.initial_access_token_id)
           if client.initial_access_token_id else None)
    limit = _self_registration_scopes(iat)
    data = {k: metadata.get(k) for k in METADATA_FIELDS}
    if metadata.get("software_statement") is not None:
        data["software_statement"] = metadata["software_statement"]
    _changed, secret = _update(client, data, actor=f"client:{client.client_id}", policy=False,
                               scope_limit=limit, review=True)
    return secret

