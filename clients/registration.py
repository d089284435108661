"""Dynamic client registration: ``POST /connect/register`` (RFC 7591) with an initial access
token, and the client configuration endpoint ``/connect/register/<client_id>`` (RFC 7592) with
the registration access token. (``/register`` is the citizens' sign-up page.)

JSON in, JSON out; errors are RFC 7591 ``{error, error_description}`` (400), RFC 6750 bearer
errors (``idp.bearer``: 401, or 400 for a token sent in a malformed way), or 403
``access_denied`` for a suspended client's change (RFC 7592 2.2). Registrations are
limited per initial access token in the shared store.
"""

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException

from clients import service
from clients.validation import ClientValidationError
from clients.validation import unusable_character
from idp.bearer import NO_STORE
from idp.bearer import BearerGuard
from idp.bearer import invalid_token
from idp.extensions import csrf
from idp.store import store

bp = Blueprint("client_registration", __name__, url_prefix="/connect/register")
csrf.exempt(bp)

GUARD = BearerGuard("client-registration")
GUARD.init_blueprint(bp)


@bp.errorhandler(ClientValidationError)
def _metadata_error(exc):
    return jsonify(error=exc.error, error_description=exc.description), 400, NO_STORE


@bp.errorhandler(HTTPException)
def _http_error(exc):
    """JSON for what goes wrong inside these views (a body over the size limit, say)."""
    return (jsonify(error="invalid_request", error_description=exc.description), exc.code,
            NO_STORE)


def _json_body():
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise ClientValidationError("invalid_client_metadata",
                                    "the request body must be a JSON object (application/json)")
    problem = unusable_character(body)
    if problem:
        raise ClientValidationError("invalid_client_metadata", "the request body contains a "
                                    f"character that is not allowed ({problem})")
    return body


def _response(client, status, *, secret=None, registration_token=None):
    body = service.client_metadata(client)
    body["registration_client_uri"] = (
        f"{current_app.config['ISSUER']}/connect/register/{client.client_id}")
    if registration_token:
        body["registration_access_token"] = registration_token
    if secret:
        body["client_secret"] = secret
    return jsonify(body), status, NO_STORE


@bp.route("", methods=["POST"])
def register():
    """RFC 7591 3.1. The client lands pending (awaiting a registrar's approval) unless the
    initial access token approves automatically."""
    iat = GUARD.authenticate(service.find_initial_access_token, "The initial access token "
                             "is unknown, expired, revoked or used up.")
    limit = current_app.config["CLIENT_REGISTRATION_PER_TOKEN_PER_HOUR"]
    if store().incr(f"client-registration:{iat.id}", 3600) > limit:
        return (jsonify(error="slow_down",
                        error_description="Too many registrations with this token; "
                                          "try again later."),
                429, {"Retry-After": str(store().ttl(f"client-registration:{iat.id}") or 3600),
                      **NO_STORE})
    metadata = _json_body()
    try:
        client, secret, token = service.register_dynamic(metadata, iat)
    except service.InitialAccessTokenUsedUp:
        raise invalid_token("The initial access token is used up.") from None
    return _response(client, 201, secret=secret, registration_token=token)


def _registered(client_id):
    # RFC 7592 2: an unknown client or a token for another client is a 401
    return GUARD.authenticate(lambda token: service.find_registration(client_id, token),
                              "The registration access token is not valid for this client.")


@bp.route("/<client_id>", methods=["GET"])
def read(client_id):
    """RFC 7592 2.1. The registration access token is echoed, never re-issued."""
    client = _registered(client_id)
    return _response(client, 200, registration_token=GUARD.token())


@bp.route("/<client_id>", methods=["PUT"])
def replace(client_id):
    """RFC 7592 2.2: the body replaces the client's metadata. A suspended client may not
    ("If the client is not allowed to update its records, the server MUST respond with HTTP
    403 Forbidden"): its change would skip the review an active client's change goes back to,
    and come into use when an operator activates it again."""
    client = _registered(client_id)
    if client.status == "suspended":
        return jsonify(error="access_denied", error_description=(
            "This client is suspended: its registration cannot change until an operator "
            "activates it again.")), 403, NO_STORE
    body = _json_body()
    if body.get("client_id") != client.client_id:
        raise ClientValidationError("invalid_client_metadata",
                                    "client_id must be present and match the client")
    if "client_secret" in body and not client.check_client_secret(body["client_secret"]):
        raise ClientValidationError("invalid_client_metadata",
                                    "client_secret does not match the client's secret")
    secret = service.replace_registration(client, body)
    return _response(client, 200, secret=secret, registration_token=GUARD.token())


@bp.route("/<client_id>", methods=["DELETE"])
def delete(client_id):
    """RFC 7592 2.3: the client is removed and its tokens revoked."""
    client = _registered(client_id)
    service.delete_client(client.client_id, actor=f"client:{client.client_id}")
    return "", 204, NO_STORE
