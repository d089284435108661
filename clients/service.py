"""Registering relying parties, with the validation RFC 7591 / OIDC Registration asks for."""

import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import current_app

from clients.cache import client_cache
from clients.models import Client
from clients.models import hash_secret
from idp.extensions import db

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SUBJECT_TYPES = ("pairwise", "public")


class ClientValidationError(ValueError):
    """Invalid client metadata; ``error`` is the RFC 7591 error code."""

    def __init__(self, error, description):
        super().__init__(description)
        self.error = error
        self.description = description


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri):
    """Exact URIs only: https, or http on a loopback host (RFC 8252 7.3); no fragment
    (RFC 6749 3.1.2), no wildcard, no user information."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if not parts or not parts.scheme or not host:
        raise ClientValidationError("invalid_redirect_uri", f"{uri!r} is not an absolute URI")
    if parts.fragment or "#" in uri:
        raise ClientValidationError("invalid_redirect_uri", f"{uri!r} has a fragment")
    if "*" in uri:
        raise ClientValidationError("invalid_redirect_uri", f"{uri!r} has a wildcard")
    if "@" in parts.netloc:
        raise ClientValidationError("invalid_redirect_uri", f"{uri!r} has user information")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return uri
    raise ClientValidationError(
        "invalid_redirect_uri", f"{uri!r} must use https (http only on a loopback host)")


def _sector_of(redirect_uris, sector_identifier):
    if sector_identifier:
        return sector_identifier
    hosts = {urlsplit(u).hostname for u in redirect_uris}
    if len(hosts) > 1:
        raise ClientValidationError(
            "invalid_client_metadata",
            "redirect URIs on several hosts need a sector identifier for pairwise subjects")
    return hosts.pop() if hosts else ""


def create_client(*, name, redirect_uris=(), auth_method="client_secret_basic",
                  grant_types=("authorization_code", "refresh_token"), scope="openid profile",
                  jwks=None, jwks_uri=None, subject_type="pairwise", sector_identifier=None,
                  id_token_alg=None, post_logout_redirect_uris=(), require_mfa=False):
    """Create an active client; returns ``(client, plain_secret_or_None)``."""
    name = (name or "").strip()
    if not name:
        raise ClientValidationError("invalid_client_metadata", "a client needs a name")
    if auth_method not in AUTH_METHODS:
        raise ClientValidationError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    grant_types = list(dict.fromkeys(grant_types))
    for g in grant_types:
        if g not in GRANT_TYPES:
            raise ClientValidationError(
                "invalid_client_metadata", f"grant type {g!r} is not supported")
    if not grant_types:
        raise ClientValidationError("invalid_client_metadata", "a client needs a grant type")
    redirect_uris = [validate_redirect_uri(u) for u in dict.fromkeys(redirect_uris)]
    post_logout = [validate_redirect_uri(u) for u in dict.fromkeys(post_logout_redirect_uris)]
    if "authorization_code" in grant_types and not redirect_uris:
        raise ClientValidationError(
            "invalid_redirect_uri", "the authorization_code grant needs a redirect URI")
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        raise ClientValidationError(
            "invalid_client_metadata", "refresh_token goes with authorization_code")
    if auth_method == "none" and "client_credentials" in grant_types:
        raise ClientValidationError(
            "invalid_client_metadata", "a public client cannot use client_credentials")
    if auth_method == "private_key_jwt" and not (jwks or jwks_uri):
        raise ClientValidationError(
            "invalid_client_metadata", "private_key_jwt needs jwks or jwks_uri")
    if jwks is not None:
        _check_jwks(jwks)
    if jwks_uri and urlsplit(jwks_uri).scheme != "https" and not is_loopback(
            urlsplit(jwks_uri).hostname or ""):
        raise ClientValidationError("invalid_client_metadata", "jwks_uri must use https")
    known = set(current_app.config["SCOPES_SUPPORTED"])
    scopes = scope.split()
    unknown = [s for s in scopes if s not in known and "client_credentials" not in grant_types]
    if unknown:
        raise ClientValidationError("invalid_client_metadata",
                                    f"unknown scope(s): {' '.join(unknown)}")
    if subject_type not in SUBJECT_TYPES:
        raise ClientValidationError("invalid_client_metadata",
                                    "subject_type must be pairwise or public")
    algs = current_app.config["ID_TOKEN_SIGNING_ALGS"]
    id_token_alg = id_token_alg or algs[0]
    if id_token_alg not in algs:
        raise ClientValidationError(
            "invalid_client_metadata",
            f"id_token_signed_response_alg must be one of {', '.join(algs)}")
    secret = None if auth_method in ("none", "private_key_jwt") else secrets.token_urlsafe(32)
    client = Client(
        client_id=secrets.token_urlsafe(16),
        client_secret_hash=hash_secret(secret) if secret else None,
        name=name,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout,
        grant_types=grant_types,
        response_types=["code"] if "authorization_code" in grant_types else [],
        scope=" ".join(dict.fromkeys(scopes)),
        token_endpoint_auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        subject_type=subject_type,
        sector_identifier=_sector_of(redirect_uris, sector_identifier),
        id_token_signed_response_alg=id_token_alg,
        require_mfa=bool(require_mfa),
        status="active",
    )
    db.session.add(client)
    db.session.commit()
    return client, secret


def new_secret(client):
    """Replace a confidential client's secret; the new one is returned once, stored hashed.
    (Rotation with an overlap period belongs to the client registry's administration.)"""
    secret = secrets.token_urlsafe(32)
    client.client_secret_hash = hash_secret(secret)
    db.session.commit()
    return secret


def _check_jwks(jwks):
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ClientValidationError("invalid_client_metadata", "jwks must be a JWK Set")
    try:
        keys = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ClientValidationError("invalid_client_metadata", f"jwks is invalid: {exc}") from None
    if any(k.is_private for k in keys):
        raise ClientValidationError("invalid_client_metadata", "jwks must hold public keys only")


def get_client(client_id):
    """A read-only ``ClientRecord``, or None (see ``clients.cache``)."""
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64 or (
            "\x00" in client_id):
        return None
    return client_cache().get(client_id)
