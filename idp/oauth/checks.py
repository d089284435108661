"""Named checks on an authorization request, each citing its specification.

Each takes the grant (``grant.request`` is the Authlib request, ``grant.request.client`` the
validated client) and raises a typed OAuth error, which Authlib redirects to the (already
verified) redirect URI together with ``state`` and ``iss``.
"""

import hmac
import re

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import InvalidScopeError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN
from authlib.oauth2.rfc7636.challenge import create_s256_code_challenge
from flask import current_app

from idp.enterprise import details as enterprise_details
from idp.errors import describable
from idp.oauth.claims import parse_claims_request

#: The values each check accepts; discovery advertises exactly these.
PROMPTS = ("none", "login", "consent", "select_account")
RESPONSE_MODES = ("query",)
SINGLE_VALUED = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                 "prompt", "max_age", "code_challenge", "code_challenge_method", "acr_values",
                 "login_hint", "ui_locales", "response_mode", "authorization_details")


def check_single_values(grant):
    """RFC 6749 3.1: request parameters MUST NOT be included more than once."""
    datalist = grant.request.payload.datalist
    for name in SINGLE_VALUED:
        if len(datalist.get(name, [])) > 1:
            raise InvalidRequestError(f"Multiple '{name}' parameters.")


def check_scope(grant):
    """RFC 6749 3.3: every requested scope must be known and registered for this client (a
    client-credentials client may be registered for API scopes of its own). The answer names
    the scopes refused and what is allowed."""
    requested = (grant.request.payload.scope or "").split()
    registered = grant.request.client.scope.split()
    refused = [s for s in dict.fromkeys(requested) if s not in registered]
    if not refused:
        return
    known = current_app.config["SCOPES_SUPPORTED"]
    unknown = [s for s in refused if s not in known]
    not_registered = [s for s in refused if s in known]
    reasons = []
    if unknown:
        reasons.append(f"Unknown scope: {' '.join(unknown)} (this server knows "
                       f"{' '.join(known)}).")
    if not_registered:
        reasons.append(f"Scope not registered for this client: {' '.join(not_registered)} "
                       f"(it may request {' '.join(registered)}).")
    raise InvalidScopeError(describable(" ".join(reasons)))


def check_openid_scope(grant):
    """OIDC Core 3.1.2.1: an OpenID request carries ``openid``; this provider serves only
    OpenID Connect logins at the authorization endpoint."""
    if "openid" not in (grant.request.payload.scope or "").split():
        raise InvalidScopeError("The 'openid' scope is required.")


def check_nonce(grant):
    """OIDC Core 3.1.2.1 / 15.5.2: ``nonce`` is required here, so ID tokens cannot be replayed
    into another login."""
    nonce = grant.request.payload.data.get("nonce")
    if not nonce:
        raise InvalidRequestError("Missing nonce: this provider requires a nonce in every "
                                  "authorization request (a fresh random value, checked in the "
                                  "ID token; OpenID Connect Core 3.1.2.1).")
    if len(nonce) > 255:
        raise InvalidRequestError("The 'nonce' parameter is too long.")


def check_prompt(grant):
    """OIDC Core 3.1.2.1: known values only, and ``none`` stands alone."""
    prompts = requested_prompts(grant.request.payload.data)
    unknown = [p for p in prompts if p not in PROMPTS]
    if unknown:
        raise InvalidRequestError(describable(f"Unsupported 'prompt' value: {' '.join(unknown)}"))
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequestError("'prompt=none' cannot be combined with other values.")


def check_max_age(grant):
    """OIDC Core 3.1.2.1: ``max_age`` is a non-negative number of seconds."""
    value = grant.request.payload.data.get("max_age")
    if value is None:
        return
    if not re.fullmatch(r"[0-9]{1,10}", value):  # str.isdigit also takes "²", int() not
        raise InvalidRequestError("'max_age' must be a non-negative integer.")


def check_acr_values(grant):
    """OIDC Core 3.1.2.1: ``acr_values`` is a space-separated list; unknown values are ignored
    (it is a voluntary claim), but the list must be well formed."""
    value = grant.request.payload.data.get("acr_values")
    if value is not None and (not value.strip() or len(value) > 1024):
        raise InvalidRequestError("Invalid 'acr_values' parameter.")


def check_claims_parameter(grant):
    """OIDC Core 5.5: ``claims`` is a JSON object of ``userinfo`` / ``id_token`` requests."""
    try:
        parse_claims_request(grant.request.payload.data.get("claims"))
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


class InvalidAuthorizationDetails(OAuth2Error):
    """RFC 9396 5: authorization details the server cannot grant."""

    error = "invalid_authorization_details"
    description = ("The person may not act for an enterprise as the authorization_details "
                   "ask (matters, credit_code).")


def registered_for_enterprises(client) -> bool:
    """Whether the platform may have logins act for enterprises: the ``enterprise`` scope or
    the policy."""
    return "enterprise" in client.scope.split() or bool(client.enterprise_allowed)


def check_authorization_details(grant):
    """RFC 9396 2 and 5: ``authorization_details`` is a JSON array of objects of a type this
    server knows (``authorization_details_types_supported``); a malformed parameter is
    ``invalid_request``, details it cannot accept ``invalid_authorization_details``. Only a
    platform allowed enterprise identities (the ``enterprise`` scope or policy) may send
    them."""
    try:
        asked = enterprise_details.parse(grant.request.payload.data.get("authorization_details"))
    except enterprise_details.DetailsError as exc:
        error = InvalidRequestError if exc.error == "invalid_request" else (
            InvalidAuthorizationDetails)
        raise error(str(exc)) from None
    if asked is not None and not registered_for_enterprises(grant.request.client):
        raise InvalidAuthorizationDetails("This client is not registered for enterprise "
                                          "identities (the enterprise scope).")


def check_response_mode(grant):
    """OAuth 2.0 Multiple Response Types: only ``query`` is offered for the code flow."""
    mode = grant.request.payload.data.get("response_mode")
    if mode is not None and mode not in RESPONSE_MODES:
        raise InvalidRequestError("Only response_mode=query is supported.")


def check_request_objects(grant):
    """OIDC Core 6: request objects are not supported (discovery says so)."""
    data = grant.request.payload.data
    if data.get("request") is not None:
        from authlib.oidc.core.errors import RequestNotSupportedError

        raise RequestNotSupportedError()
    if data.get("request_uri") is not None:
        from authlib.oidc.core.errors import RequestURINotSupportedError

        raise RequestURINotSupportedError()


#: ``check_scope`` runs before these, as the grant's ``validate_requested_scope``.
AUTHORIZATION_CHECKS = (check_single_values, check_request_objects, check_response_mode,
                        check_openid_scope, check_nonce, check_prompt, check_max_age,
                        check_acr_values, check_claims_parameter, check_authorization_details)


class AuthorizationChecks:
    """Grant extension running ``AUTHORIZATION_CHECKS`` once the client and redirect URI are
    trusted."""

    def __call__(self, grant):
        grant.register_hook("after_validate_authorization_request_payload", self.run)

    @staticmethod
    def run(grant, redirect_uri):
        for check in AUTHORIZATION_CHECKS:
            check(grant)


def _s256_matches(verifier, challenge):
    return hmac.compare_digest(create_s256_code_challenge(verifier), challenge)


class S256CodeChallenge(CodeChallenge):
    """RFC 7636 with RFC 9700 2.1.1: PKCE is required for every client, confidential ones
    included, and only ``S256`` is accepted (``plain`` and a missing method are refused)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def __init__(self):
        super().__init__(required=True)
        self.CODE_CHALLENGE_METHODS = {"S256": _s256_matches}

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        if not challenge:
            raise InvalidRequestError(
                "PKCE is required of every client: send code_challenge (BASE64URL of the "
                "SHA-256 of a code_verifier) with code_challenge_method=S256 (RFC 7636).")
        if method == "plain":
            raise InvalidRequestError("code_challenge_method=plain is not accepted: use S256 "
                                      "(RFC 9700 2.1.1).")
        if method is None:
            raise InvalidRequestError("Missing code_challenge_method: send "
                                      "code_challenge_method=S256 (plain is not accepted).")
        if method not in self.SUPPORTED_CODE_CHALLENGE_METHOD:
            raise InvalidRequestError("Unsupported code_challenge_method: use S256.")
        if not CODE_CHALLENGE_PATTERN.match(challenge):
            raise InvalidRequestError("Invalid code_challenge: it must be 43 to 128 characters "
                                      "(the BASE64URL of the SHA-256 of the code_verifier).")

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing code_verifier: send the PKCE code_verifier whose "
                                      "S256 challenge went to /authorize.")
        super().validate_code_verifier(grant, result)


def requested_prompts(data) -> list[str]:
    return (data.get("prompt") or "").split()


def requested_max_age(data):
    value = data.get("max_age")
    return int(value) if value is not None else None
