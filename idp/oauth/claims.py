"""Subject identifiers and the claims each scope releases (OIDC Core 5.4, 8)."""

import base64
import hashlib
import hmac
from datetime import UTC
from datetime import datetime

from flask import current_app

from idp import json_input
from idp.enterprise import service as enterprise
from idp.realname import service as realname

SCOPE_CLAIMS = {
    "profile": ("name", "preferred_username", "updated_at", "birthdate", "gender"),
    "phone": ("phone_number", "phone_number_verified"),
    "email": ("email", "email_verified"),
    "id_number": ("id_number", "id_document_type", "nationality"),
}
#: Claims about the identity binding, in every ID token and userinfo answer (no personal data).
ASSURANCE_CLAIMS = ("loa", "real_name_verified", "verified_at")


def subject_for(user, client) -> str:
    """``public``: the account's stable identifier. ``pairwise`` (default): a keyed hash of the
    client's sector and the account, so unrelated platforms cannot correlate a citizen."""
    if client.subject_type == "public":
        return user.uuid
    secret = current_app.config["PAIRWISE_SECRET"].encode()
    digest = hmac.new(secret, f"{client.sector_identifier}|{user.uuid}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def assurance_claims(user) -> dict:
    """``loa``: the account's identity level (1..4; the login's own level is ``acr``);
    ``real_name_verified``: level 2 or more; ``verified_at``: when it was last raised."""
    binding = realname.binding_of(user) if user.loa > 1 else None
    claims = {"loa": user.loa, "real_name_verified": user.loa >= 2}
    if binding is not None and binding.verified_at:
        claims["verified_at"] = binding.verified_at
    return claims


#: OpenID Connect for Identity Assurance 1.0: our trust framework, and how each way of
#: reaching a level is described as evidence.
TRUST_FRAMEWORK = "cn_gov_idp"
EVIDENCE = {
    "registry": [{"type": "electronic_record", "check_details": [{"check_method": "data"}],
                  "record": {"type": "population_register"}}],
    "face": [{"type": "electronic_record", "check_details": [{"check_method": "data"}],
              "record": {"type": "population_register"}},
             {"type": "electronic_record", "check_details": [{"check_method": "bvr"}],
              "record": {"type": "population_register"}}],
    "counter": [{"type": "document", "check_details": [{"check_method": "vpip"}]}],
}
VERIFIED_CLAIM_NAMES = ("name", "birthdate", "gender", "nationality")
MAX_CLAIMS_REQUEST = 4096


def parse_claims_request(raw):
    """The ``claims`` request parameter (OIDC Core 5.5) as a dict, None when absent; raises
    ``ValueError`` with the reason when malformed."""
    if raw is None:
        return None
    if len(raw) > MAX_CLAIMS_REQUEST:
        raise ValueError("'claims' is too long.")
    try:
        value = json_input.loads(raw)
    except ValueError:
        raise ValueError("'claims' is not JSON.") from None
    if not isinstance(value, dict) or not set(value) <= {"userinfo", "id_token"} or not all(
            isinstance(member, dict) for member in value.values()):
        raise ValueError("'claims' must be an object with 'userinfo' and/or 'id_token' "
                         "objects.")
    return value


def essential_acr_values(claims_request) -> list[str]:
    """The ``acr`` values a ``claims`` request marks essential for the ID token (OIDC Core
    5.5.1.1): the login must reach one of them, or the platform hears an error."""
    acr = ((claims_request or {}).get("id_token") or {}).get("acr")
    if not isinstance(acr, dict) or acr.get("essential") is not True:
        return []
    values = acr.get("values") if isinstance(acr.get("values"), list) else [acr.get("value")]
    return [v for v in values if isinstance(v, str)]


def verified_claims(user, scope, claims_request, member) -> dict:
    """``verified_claims`` (OIDC4IDA) when ``member`` ("userinfo" or "id_token") of the claims
    request asks for it, the citizen consented to ``profile`` and the account is verified:
    the trust framework, level, time and evidence, and the requested claims among name,
    birthdate, gender and nationality (all of them when none is named)."""
    asked = ((claims_request or {}).get(member) or {}).get("verified_claims")
    if not isinstance(asked, dict) or "profile" not in (scope or "").split():
        return {}
    verified = realname.verified_claims(user)
    if not verified:
        return {}
    wanted = asked.get("claims")
    scopes = set((scope or "").split())
    names = [n for n in VERIFIED_CLAIM_NAMES if n in verified and (
        not isinstance(wanted, dict) or not wanted or n in wanted) and (
        n != "nationality" or "id_number" in scopes)]  # a document field: its own scope
    source = verified["verification_source"]
    return {"verified_claims": {
        "verification": {
            "trust_framework": TRUST_FRAMEWORK,
            "assurance_level": current_app.config["ACR_VALUES"][user.loa - 1],
            "time": datetime.fromtimestamp(verified["verified_at"], UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "evidence": EVIDENCE.get(source, []),
        },
        "claims": {n: verified[n] for n in names},
    }}


def enterprise_claims(acting, subject) -> dict:
    """Acting for an enterprise: the ``enterprise`` claim (credit code, name, entity type,
    status, the person's role), ``act`` (RFC 8693: ``sub`` the acting person, the same
    subject as the token's; an agent firm as the nested prior actor) and the granted
    ``authorization_details``. Empty when the person acts for themselves."""
    if not acting:
        return {}
    return {"enterprise": enterprise.enterprise_claim(acting),
            "act": enterprise.act_claim(acting, subject),
            "authorization_details": acting["authorization_details"]}


def userinfo(user, client, scope: str, claims_request=None, acting=None) -> dict:
    """OIDC Core 5.4. A verified account's ``name`` is the name on its document (with the
    ``birthdate`` and ``gender`` the document gives); the document number needs the
    ``id_number`` scope, which the platform must be registered for and the citizen consents
    to. A login acting for an enterprise adds ``enterprise_claims``."""
    scopes = set((scope or "").split())
    claims = {"sub": subject_for(user, client), **assurance_claims(user)}
    verified = realname.verified_claims(user) if scopes & {"profile", "id_number"} else {}
    if "profile" in scopes:
        if verified.get("name") or user.name:
            claims["name"] = verified.get("name") or user.name
        if user.username:
            claims["preferred_username"] = user.username
        claims["updated_at"] = user.updated_at
        for name in ("birthdate", "gender"):
            if name in verified:
                claims[name] = verified[name]
    if "id_number" in scopes and verified:
        claims["id_number"] = verified["id_number"]
        claims["id_document_type"] = verified["id_document_type"]
        if "nationality" in verified:
            claims["nationality"] = verified["nationality"]
    if "phone" in scopes:
        claims["phone_number"] = user.phone
        claims["phone_number_verified"] = bool(user.phone_verified)
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    claims.update(verified_claims(user, scope, claims_request, "userinfo"))
    claims.update(enterprise_claims(acting, claims["sub"]))
    return client.release_claims(claims)  # the platform's policy: allowed_claims


def claims_supported():
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
             "at_hash", *ASSURANCE_CLAIMS, "verified_claims", "enterprise", "act",
             "authorization_details"]
    for group in SCOPE_CLAIMS.values():
        names.extend(group)
    return names

