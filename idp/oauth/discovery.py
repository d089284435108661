"""OpenID Provider metadata (OIDC Discovery 3), RFC 8414 metadata and the JWKS.

The metadata is generated from what the server enforces: every list is read from the module
that checks it (the configuration, the client registry's rules in ``clients.validation``, the
named checks, the grants and endpoints), so discovery cannot promise what is refused
(``tests/integration/test_discovery_enforced.py`` holds it to that). The documents are built
once per app and served from memory; the JWKS comes from the key ring's cached serialisation.
Both carry cache headers so relying parties can keep them."""

import json

from authlib.oidc.discovery import OpenIDProviderMetadata
from flask import Blueprint
from flask import Response
from flask import current_app

from clients.validation import GRANT_TYPES
from clients.validation import METADATA_FIELDS
from clients.validation import RESPONSE_TYPES
from clients.validation import SUBJECT_TYPES
from idp.enterprise.details import TYPE as ENTERPRISE_DETAILS_TYPE
from idp.keys.service import keyring
from idp.logout.service import SESSION_ID_IN_FRONTCHANNEL
from idp.logout.service import SESSION_ID_IN_LOGOUT_TOKENS
from idp.oauth.checks import PROMPTS
from idp.oauth.checks import RESPONSE_MODES
from idp.oauth.checks import S256CodeChallenge
from idp.oauth.claims import EVIDENCE
from idp.oauth.claims import TRUST_FRAMEWORK
from idp.oauth.claims import VERIFIED_CLAIM_NAMES
from idp.oauth.claims import claims_supported
from idp.oauth.grants.base import TokenIssuing
from idp.oauth.server import CLIENT_ASSERTION_ALGS
from idp.oauth.server import IntrospectionEndpoint
from idp.oauth.server import RevocationEndpoint

bp = Blueprint("discovery", __name__)


def metadata() -> dict:
    cfg = current_app.config
    iss = cfg["ISSUER"]
    algs = cfg["ID_TOKEN_SIGNING_ALGS"]
    data = {
        "issuer": iss,
        "authorization_endpoint": iss + "/authorize",
        "token_endpoint": iss + "/token",
        "userinfo_endpoint": iss + "/userinfo",
        "jwks_uri": iss + "/jwks.json",
        "introspection_endpoint": iss + "/introspect",
        "revocation_endpoint": iss + "/revoke",
        "end_session_endpoint": iss + "/logout",
        # RFC 7591 with an initial access token from a registrar; RFC 7592 at the
        # registration_client_uri it returns
        "registration_endpoint": iss + "/connect/register",
        "scopes_supported": cfg["SCOPES_SUPPORTED"],
        "response_types_supported": list(RESPONSE_TYPES),
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": list(SUBJECT_TYPES),
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": list(TokenIssuing.TOKEN_ENDPOINT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": list(
            IntrospectionEndpoint.CLIENT_AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": list(
            RevocationEndpoint.CLIENT_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "code_challenge_methods_supported": list(
            S256CodeChallenge.SUPPORTED_CODE_CHALLENGE_METHOD),
        "claims_supported": claims_supported(),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        # OpenID Connect for Identity Assurance 1.0
        "verified_claims_supported": True,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": list(dict.fromkeys(
            e["type"] for evidence in EVIDENCE.values() for e in evidence)),
        "claims_in_verified_claims_supported": list(VERIFIED_CLAIM_NAMES),
        # RFC 9396: the matters a login acting for an enterprise may handle
        "authorization_details_types_supported": [ENTERPRISE_DETAILS_TYPE],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "acr_values_supported": cfg["ACR_VALUES"],
        "prompt_values_supported": list(PROMPTS),
        "ui_locales_supported": [lang.replace("_", "-") for lang in cfg["LANGUAGES"]],
        "authorization_response_iss_parameter_supported": True,
        # OpenID Connect Back-Channel and Front-Channel Logout 1.0 (idp.logout): platforms
        # register the URIs, and the session id always goes with the logout
        "backchannel_logout_supported": "backchannel_logout_uri" in METADATA_FIELDS,
        "backchannel_logout_session_supported": SESSION_ID_IN_LOGOUT_TOKENS,
        "frontchannel_logout_supported": "frontchannel_logout_uri" in METADATA_FIELDS,
        "frontchannel_logout_session_supported": SESSION_ID_IN_FRONTCHANNEL,
    }
    OpenIDProviderMetadata(data).validate()
    return data


def _document(app):
    cache = app.extensions.setdefault("idp.discovery", {})
    if "json" not in cache:
        cache["json"] = json.dumps(metadata()).encode()
    return cache["json"]


def _cached(body, content_type):
    max_age = current_app.config["JWKS_MAX_AGE"]
    return Response(body, content_type=content_type,
                    headers={"Cache-Control": f"public, max-age={max_age}"})


@bp.route("/.well-known/openid-configuration")
@bp.route("/.well-known/oauth-authorization-server")
def openid_configuration():
    return _cached(_document(current_app._get_current_object()), "application/json")


@bp.route("/jwks.json")
def jwks():
    return _cached(keyring().jwks(), "application/json")
