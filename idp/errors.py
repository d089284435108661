"""Typed errors and their handlers: JSON for protocol endpoints, a page for browsers.

Protocol errors (RFC 6749 / OIDC) are Authlib ``OAuth2Error`` subclasses; this module adds the
error page used when the client or redirect URI cannot be trusted, and makes sure no request
ends in a bare 500 page.
"""

import logging
import re

from authlib.oauth2 import OAuth2Error
from flask import jsonify
from flask import make_response
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/token", "/introspect", "/revoke", "/userinfo", "/.well-known", "/jwks",
                 "/connect/", "/admin/api/")


#: RFC 6749 5.2 and RFC 6750 3: the characters an ``error_description`` may hold.
_NOT_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5B\x5D-\x7E]")


def describable(text: str) -> str:
    """``text`` fit for an ``error_description`` (printable ASCII without ``"`` and ``\\``):
    each other character becomes "?". Authlib refuses to build an error whose description
    holds one (a 500), so every description that quotes what a client sent goes through here."""
    return _NOT_IN_DESCRIPTION.sub("?", text)


class UserFacingError(Exception):
    """An error shown to the person in the browser, never redirected to a client. ``summary``
    (translated) replaces the error code's general one when the page knows better."""

    status = 400

    def __init__(self, error, description, status=None, summary=None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.summary = summary
        if status:
            self.status = status


class Refusal(Exception):
    """A domain service's refusal: ``code`` for programs, ``message`` for people (the given
    one, else the subclass's ``MESSAGES[code]()``, translated when read)."""

    MESSAGES = {}

    def __init__(self, code, message=None):
        super().__init__(code)
        self.code = code
        self._message = message

    @property
    def message(self):
        return self._message or self.MESSAGES[self.code]()


def wants_json():
    return request.path.startswith(JSON_PREFIXES) or (
        request.accept_mimetypes.best == "application/json"
    )


#: What a person is told for each error code; the technical description is shown beneath.
SUMMARIES = {
    "invalid_client": lambda: _("This service is not registered with us, or has been suspended."),
    "invalid_request": lambda: _("The request from the service could not be processed."),
    "unsupported_response_type": lambda: _("The request from the service could not be "
                                           "processed."),
    "not_found": lambda: _("This page does not exist."),
    "server_error": lambda: _("Something went wrong on our side. Try again later."),
}

#: Werkzeug's own descriptions of these statuses are English: a page says them in its language.
HTTP_TEXTS = {
    404: lambda: _("This page does not exist."),
    405: lambda: _("This address does not take this kind of request."),
    413: lambda: _("What was sent is too large."),
}


def error_page(error, description, status, summary=None):
    if wants_json():
        return jsonify(error=error, error_description=description), status
    if summary is None and error in SUMMARIES:
        summary = SUMMARIES[error]()
    body = render_template("error.html", error=error, description=description, summary=summary)
    return body, status, {"Cache-Control": "no-store"}


def register(app):
    @app.errorhandler(UserFacingError)
    def _user_facing(exc):
        return error_page(exc.error, exc.description, exc.status, exc.summary)

    @app.errorhandler(OAuth2Error)
    def _protocol(exc):
        # Raised outside Authlib's own handling, e.g. InsecureTransportError for a plain-http
        # request that did not come through a trusted TLS proxy (IDP_TRUSTED_PROXY_HOPS).
        return error_page(exc.error, exc.description or exc.error, exc.status_code or 400)

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return error_page(
            "invalid_request", _("The form expired or was not sent from this site. Try again."),
            400,
        )

    @app.errorhandler(HTTPException)
    def _http(exc):
        if exc.code == 429:
            return error_page("slow_down", _("Too many attempts. Wait a minute and try again."),
                              429)
        names = {404: "not_found", 405: "invalid_request", 413: "invalid_request"}
        description = exc.description
        if (description == type(exc).description and exc.code in HTTP_TEXTS
                and not wants_json()):
            description = HTTP_TEXTS[exc.code]()
        response = make_response(error_page(names.get(exc.code, "invalid_request"),
                                            description, exc.code))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_page("server_error", _("Something went wrong on our side. Try again later."),
                          500)
