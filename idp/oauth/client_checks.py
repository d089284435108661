"""What a relying party is told when the client itself is not right: not active, an
unregistered redirect URI at ``/authorize``, or client authentication that failed at
``/token``, ``/revoke`` and ``/introspect``. Each names the one fact the integrator needs,
keeps its RFC error code (``invalid_client``, ``invalid_request``) and never echoes a secret.

Authlib says only which methods the endpoint accepts; ``explain_authentication_failure``
replaces that with why this request failed (RFC 6749 2.3, 5.2)."""

import json

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask_babel import gettext as _
from joserfc import jws
from joserfc.errors import JoseError

from clients.service import get_client
from clients.validation import SECRET_METHODS
from idp.errors import UserFacingError

#: How each ``token_endpoint_auth_method`` (RFC 7591 2) sends its credentials.
METHOD_LABELS = {
    "client_secret_basic": "HTTP Basic",
    "client_secret_post": "client_secret in the request body",
    "private_key_jwt": "a signed client_assertion",
    "none": "client_id alone, no credentials",
}

#: Why a registered client that is not active cannot be used (status -> description).
STATUS_DESCRIPTIONS = {
    "pending": "This client is awaiting approval by a registrar; it can be used once approved.",
    "suspended": "This client is suspended; it cannot be used until an operator activates it "
                 "again.",
}

UNKNOWN_CLIENT = "No client is registered with this client_id on this server."
WRONG_SECRET = ("The client_secret is not valid for this client (wrong, or expired after a "
                "secret rotation).")


def _method(label):
    return f"{label} ({METHOD_LABELS[label]})"


def check_client_usable(client_id):
    """At ``/authorize``: a registered client awaiting approval or suspended gets a page that
    says so (never a redirect: it is not a client we may send anyone back to)."""
    client = get_client(client_id)
    if client is None or client.status not in STATUS_DESCRIPTIONS:
        return
    if client.status == "pending":
        summary = _("%(name)s is awaiting approval by the administrators of this login service, "
                    "so it cannot log you in yet. Try again later.", name=client.name)
    else:
        summary = _("%(name)s is suspended and cannot log you in at the moment. Contact the "
                    "service for help.", name=client.name)
    raise UserFacingError("invalid_client", STATUS_DESCRIPTIONS[client.status], summary=summary)


def check_redirect_uri_registered(client, redirect_uri):
    """RFC 6749 3.1.2.2 / OIDC Core 3.1.2.1: the redirect URI must be one the client registered,
    compared as strings. The page names the client and says the match must be exact."""
    if client.check_redirect_uri(redirect_uri):
        return
    raise UserFacingError(
        "invalid_request",
        f"The redirect_uri {redirect_uri} is not registered for the client {client.name} "
        f"(client_id {client.client_id}): it must match one of the client's registered "
        "redirect URIs exactly (scheme, host, port, path and query).",
        summary=_("%(name)s sent you here with a return address it has not registered, so we "
                  "cannot send you back. A service's return address must match a registered "
                  "one exactly.", name=client.name))


def sent_method(request):
    """The client authentication method a token-endpoint request used, as RFC 7591 names it;
    None when it carries none at all."""
    if (request.headers.get("Authorization") or "")[:6].lower() == "basic ":
        return "client_secret_basic"
    form = request.form
    if form.get("client_assertion") or form.get("client_assertion_type"):
        return "private_key_jwt"
    if form.get("client_secret"):
        return "client_secret_post"
    if form.get("client_id"):
        return "none"
    return None


def basic_credentials(headers):
    """``(client_id, client_secret)`` of an HTTP Basic ``Authorization`` header (RFC 6749
    2.3.1), or None when it cannot be read (nothing after "Basic", not base64, not UTF-8)."""
    try:
        return extract_basic_authorization(headers)
    except ValueError:  # UnicodeDecodeError is one
        return None


def _claimed_client_id(request, method):
    if method == "client_secret_basic":
        return (basic_credentials(request.headers) or (None, None))[0]
    if method == "private_key_jwt" and not request.form.get("client_id"):
        try:  # only to name the client in the answer; nothing here is trusted
            assertion = jws.extract_compact(request.form.get("client_assertion", "").encode())
            claims = json.loads(assertion.payload)
        except (JoseError, ValueError, RecursionError):  # RecursionError: nested too deeply
            return None
        return claims.get("sub") if isinstance(claims, dict) else None
    return request.form.get("client_id")


def explain_authentication_failure(error, request, methods, endpoint):
    """Give ``error`` (Authlib's ``invalid_client``) the reason this request failed."""
    method = sent_method(request)
    if method is None:
        error.description = (
            "No client authentication was sent: send the client_id and the credentials of the "
            f"method the client is registered for (one of {', '.join(methods)}).")
        return
    client_id = _claimed_client_id(request, method)
    client = get_client(client_id)
    if client is None:
        if isinstance(client_id, str) and client_id:
            error.description = UNKNOWN_CLIENT
        elif method == "client_secret_basic":
            error.description = ("The Authorization header is not HTTP Basic credentials: "
                                 "base64 of client_id:client_secret (RFC 6749 2.3.1).")
        elif method == "client_secret_post":
            error.description = "A client_secret was sent without its client_id."
        # private_key_jwt without a usable sub: the assertion's own error stands
        return
    if endpoint != "introspection" and client.status in STATUS_DESCRIPTIONS:
        error.description = STATUS_DESCRIPTIONS[client.status]
        return
    registered = client.token_endpoint_auth_method
    if registered not in methods:
        error.description = (f"This client is registered for {_method(registered)}, which this "
                             f"endpoint does not accept (it accepts {', '.join(methods)}).")
    elif method != registered:
        error.description = (f"This client is registered for {_method(registered)} but sent "
                             f"{_method(method)}.")
    elif method in SECRET_METHODS:
        error.description = WRONG_SECRET
    # private_key_jwt: the assertion's own error (signature, audience, jti...) stands
