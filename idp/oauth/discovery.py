"""OpenID Provider metadata (OIDC Discovery 3), RFC 8414 metadata and the JWKS.

The documents are built once per app and served from memory; the JWKS comes from the key
ring's cached serialisation. Both carry cache headers so relying parties can keep them."""

import json

from authlib.oidc.discovery import OpenIDProviderMetadata
from flask import Blueprint
from flask import Response
from flask import current_app

from idp.keys.service import keyring
from idp.oauth.claims import TRUST_FRAMEWORK
from idp.oauth.claims import VERIFIED_CLAIM_NAMES
from idp.oauth.claims import claims_supported
from idp.oauth.server import CLIENT_ASSERTION_ALGS

bp = Blueprint("discovery", __name__)

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


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
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS[:-1],
        "introspection_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": claims_supported(),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        # OpenID Connect for Identity Assurance 1.0
        "verified_claims_supported": True,
        "trust_frameworks_supported": [TRUST_FRAMEWORK],
        "evidence_supported": ["electronic_record", "document"],
        "claims_in_verified_claims_supported": list(VERIFIED_CLAIM_NAMES),
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "acr_values_supported": cfg["ACR_VALUES"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": [lang.replace("_", "-") for lang in cfg["LANGUAGES"]],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
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
