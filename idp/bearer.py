"""The bearer-token guard (RFC 6750) of every resource this provider serves to programs:
``/userinfo``, client management (RFC 7591 / 7592, ``/connect/register``) and the admin API.

One behaviour for all of them:

* the token comes in ``Authorization: Bearer <token>`` (RFC 6750 2.1) or, where the resource
  allows it (``/userinfo``), as the form-encoded body parameter ``access_token`` (2.2);
* no token at all (no ``Authorization`` header, an empty one, or another scheme such as
  ``Basic``): 401 with a challenge that names the realm only. RFC 6750 3.1: "If the request
  lacks any authentication information (e.g., the client was unaware that authentication is
  necessary or attempted using an unsupported authentication method), the resource server
  SHOULD NOT include an error code or other error information." RFC 6750 defines no body; the
  JSON body says ``invalid_token`` and what is missing, as for any other refused token;
* a token sent two ways at once, or a credential that is not a ``b64token`` (2.1): 400
  ``invalid_request`` (3.1);
* a token that is unknown, expired, revoked or meant for something else: 401
  ``invalid_token``; one without the scope the resource needs: 403 ``insufficient_scope``;
* every answer: ``WWW-Authenticate: Bearer realm="<realm>"[, error="…",
  error_description="…"]`` (3), a JSON ``{error, error_description}`` and ``no-store``.

The guard knows no tokens: each resource passes its realm and its verifier, so that
``clients`` (which never imports ``idp.oauth``) shares it with ``idp.oauth`` and the admin API.
"""

import re

from flask import jsonify
from flask import request

from idp.errors import describable

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN = 8192
INVALID = "The access token is invalid, expired or revoked."


class BearerError(Exception):
    """A refused bearer token: ``status`` 400, 401 or 403 and an RFC 6750 (or RFC 9470)
    ``error`` code; ``error`` None only for a request without any token (3.1)."""

    def __init__(self, status, error, description):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def invalid_token(description=INVALID):
    return BearerError(401, "invalid_token", description)


def insufficient_scope(description):
    return BearerError(403, "insufficient_scope", description)


class BearerGuard:
    """The guard of one resource: its ``realm``, and whether the token may come in a form
    body (RFC 6750 2.2). ``init_blueprint`` makes the blueprint answer ``BearerError``."""

    def __init__(self, realm, *, form_parameter=False):
        self.realm = realm
        self.form_parameter = form_parameter

    def init_blueprint(self, bp):
        bp.register_error_handler(BearerError, self.response)

    def token(self) -> str:
        """The bearer token of this request; ``BearerError`` when there is none or it is sent
        in a way RFC 6750 does not allow."""
        scheme, _, credential = request.headers.get("Authorization", "").strip().partition(" ")
        in_header = credential.strip() if scheme.lower() == "bearer" else ""
        in_body = None
        if (self.form_parameter and request.method not in ("GET", "HEAD")
                and request.mimetype == "application/x-www-form-urlencoded"):
            in_body = request.form.get("access_token")
        if in_header and in_body is not None:
            raise BearerError(400, "invalid_request",
                              "The access token was sent more than one way.")
        value = in_header or in_body
        if not value:
            raise BearerError(401, None, "A bearer token is required "
                                         "(Authorization: Bearer ...).")
        if len(value) > MAX_TOKEN or not B64TOKEN.fullmatch(value):
            raise BearerError(400, "invalid_request", "The bearer token is malformed.")
        return value

    def authenticate(self, verify, description=INVALID):
        """What ``verify(token)`` makes of this request's token; ``invalid_token`` with
        ``description`` when it returns None."""
        found = verify(self.token())
        if found is None:
            raise invalid_token(description)
        return found

    def response(self, exc: BearerError):
        description = describable(exc.description)
        challenge = f'Bearer realm="{self.realm}"'
        if exc.error:
            challenge += f', error="{exc.error}", error_description="{description}"'
        body = {"error": exc.error or "invalid_token", "error_description": exc.description}
        return jsonify(body), exc.status, {"WWW-Authenticate": challenge, **NO_STORE}
