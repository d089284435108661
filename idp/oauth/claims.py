"""Subject identifiers and the claims each scope releases (OIDC Core 5.4, 8)."""

import base64
import hashlib
import hmac

from flask import current_app

SCOPE_CLAIMS = {
    "profile": ("name", "preferred_username", "updated_at"),
    "phone": ("phone_number", "phone_number_verified"),
    "email": ("email", "email_verified"),
}


def subject_for(user, client) -> str:
    """``public``: the account's stable identifier. ``pairwise`` (default): a keyed hash of the
    client's sector and the account, so unrelated platforms cannot correlate a citizen."""
    if client.subject_type == "public":
        return user.uuid
    secret = current_app.config["PAIRWISE_SECRET"].encode()
    digest = hmac.new(secret, f"{client.sector_identifier}|{user.uuid}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def userinfo(user, client, scope: str) -> dict:
    scopes = set((scope or "").split())
    claims = {"sub": subject_for(user, client)}
    if "profile" in scopes:
        if user.name:
            claims["name"] = user.name
        if user.username:
            claims["preferred_username"] = user.username
        claims["updated_at"] = user.updated_at
    if "phone" in scopes:
        claims["phone_number"] = user.phone
        claims["phone_number_verified"] = bool(user.phone_verified)
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    return claims


def claims_supported():
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
             "at_hash"]
    for group in SCOPE_CLAIMS.values():
        names.extend(group)
    return names

