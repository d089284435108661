"""The admin REST API, ``/admin/api/…``: the console's operations for scripts and other
systems, JSON in and out, described by the OpenAPI document at ``/admin/api/openapi.json``.

**Authentication**: a bearer access token of this provider (an RFC 9068 JWT checked by
``idp.oauth.tokens.access_token``: signature, ``typ``, expiry, revocation, its client
still active) whose audience is the issuer and whose scope includes ``admin``. Either

* a client's own token (``client_credentials``): it acts as ``client:<client_id>`` in the roles
  an operator granted the client (``idp admins grant-client``, table ``client_roles``); or
* an administrator's token (authorization code flow): it acts as ``user:<id>`` in the roles
  the staff member holds now, and only when the login used two factors (``amr`` has ``mfa``).
  Tokens that dynamically registered clients (RFC 7591) obtained are refused.

Every operation checks its permission (``idp.admin.roles.ROLE_PERMISSIONS``) and is done —
and audited — in the narrowest role held that allows it.

**Errors**: RFC 6750 for tokens, as every bearer-token resource of this provider answers them
(``idp.bearer``: 401 ``invalid_token`` with ``WWW-Authenticate``, 403 ``insufficient_scope``,
400 ``invalid_request`` for a token sent in a malformed way), RFC 9470 401
``insufficient_user_authentication`` (with ``WWW-Authenticate``) for a login without two
factors, 403 ``forbidden`` for a role that does not allow the operation (mutating attempts are
audited as ``admin.denied``), and 400 / 404 / 409 ``{error, error_description}``.
"""

import functools
import re
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request
from flask import stream_with_context
from flask import url_for
from werkzeug.exceptions import HTTPException

from clients import service as registry
from clients.models import CLIENT_STATES
from clients.validation import ClientValidationError
from clients.validation import unusable_character
from idp.accounts.assurance import is_multi_factor
from idp.admin import roles
from idp.admin import service
from idp.audit import service as audit
from idp.bearer import NO_STORE
from idp.bearer import BearerError
from idp.bearer import BearerGuard
from idp.bearer import insufficient_scope
from idp.extensions import csrf
from idp.ids import row_id
from idp.logout import service as logout_service
from idp.logout.models import DELIVERY_STATES
from idp.oauth.tokens import access_token

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
csrf.exempt(bp)  # bearer tokens only: no cookie is ever read here

PREFIX = "/admin/api/"
GUARD = BearerGuard("admin")
GUARD.init_blueprint(bp)
MAX_PAGE = 10_000
MAX_TEXT = 200
#: What a client_id may look like (ours are URL-safe base64); anything else names no client.
CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")


class ApiError(Exception):
    def __init__(self, status, error, description):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _answer(status, error, description):
    return jsonify(error=error, error_description=description), status, NO_STORE


@bp.errorhandler(ApiError)
def _api_error(exc):
    return _answer(exc.status, exc.error, exc.description)


@bp.errorhandler(service.AdminError)
def _admin_error(exc):
    return _answer(exc.status, exc.error, exc.description)


@bp.errorhandler(ClientValidationError)
def _validation_error(exc):
    return _answer(400, exc.error, exc.description)


@bp.errorhandler(registry.ClientNotFound)
@bp.errorhandler(registry.InitialAccessTokenNotFound)
def _not_found(exc):
    return _answer(404, "not_found", str(exc))


@bp.errorhandler(audit.AuditQueryError)
def _query_error(exc):
    return _answer(400, "invalid_request", str(exc))


STATUS_ERRORS = {404: "not_found", 405: "invalid_request", 413: "invalid_request",
                 415: "invalid_request"}


@bp.errorhandler(HTTPException)
def _http_error(exc):
    return _answer(exc.code, STATUS_ERRORS.get(exc.code, "invalid_request"), exc.description)


@bp.after_request
def _no_store(response):
    response.headers.update(NO_STORE)
    return response


# --- Who is calling ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Acting:
    """The caller and the role this operation is done in."""

    actor: str
    roles: frozenset
    role: str | None = None
    user_id: int | None = None
    client_id: str | None = None


def authenticate() -> Acting:
    token = GUARD.authenticate(access_token)
    if roles.ADMIN_SCOPE not in token.scopes:
        raise insufficient_scope(f"The access token lacks the {roles.ADMIN_SCOPE} scope.")
    if token.is_machine:
        client_id = token.client.client_id
        return Acting(actor=f"client:{client_id}",
                      roles=frozenset(roles.client_roles_of(client_id)), client_id=client_id)
    if token.client.initial_access_token_id or token.client.registration_token_hash:
        raise insufficient_scope("Tokens of dynamically registered clients cannot administer "
                                 "this provider.")
    if not is_multi_factor(token.claims.get("amr")):
        raise BearerError(401, "insufficient_user_authentication",
                          "Administration needs a login with a second factor.")
    return Acting(actor=f"user:{token.user.id}", roles=frozenset(roles.roles_of(token.user.id)),
                  user_id=token.user.id)


def _target(kwargs):
    """The audit target named by the path (only well-formed ids are written down)."""
    for name, kind in (("client_id", "client"), ("user_id", "user"), ("token_id", "iat")):
        value = kwargs.get(name)
        if value is not None and CLIENT_ID.fullmatch(value):
            return f"{kind}:{value}"
    return None


def requires(permission):
    """View decorator: a valid admin token whose roles allow ``permission`` (None: any
    caller with a valid admin token). The view receives the ``Acting`` first."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            acting = authenticate()
            if "client_id" in kwargs and not CLIENT_ID.fullmatch(kwargs["client_id"]):
                raise ApiError(404, "not_found", "no such client")
            if permission is not None:
                role = roles.role_for(acting.roles, permission)
                if role is None:
                    if request.method not in ("GET", "HEAD"):
                        audit.record("admin.denied", "failure", actor=acting.actor,
                                     target=_target(kwargs),
                                     detail={"permission": permission,
                                             "method": request.method,
                                             "path": request.path[:200]})
                    raise ApiError(403, "forbidden",
                                   f"None of the caller's roles allows this ({permission}).")
                acting = Acting(acting.actor, acting.roles, role, acting.user_id,
                                acting.client_id)
            return view(acting, **kwargs)

        return wrapper

    return decorate


# --- Input --------------------------------------------------------------------------------------

def _bad(description):
    return ApiError(400, "invalid_request", description)


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d{1,12}", raw) or not low <= int(raw) <= high:
        raise _bad(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _text_arg(name, limit=MAX_TEXT):
    raw = request.args.get(name)
    if raw is not None and len(raw) > limit:
        raise _bad(f"{name} is longer than {limit} characters")
    return raw or None


def _choice_arg(name, choices):
    raw = request.args.get(name)
    if raw is not None and raw not in choices:
        raise _bad(f"{name} must be one of {', '.join(choices)}")
    return raw or None


def _paging():
    return (_int_arg("page", 1, 1, MAX_PAGE),
            _int_arg("per_page", 20, 1, service.MAX_PER_PAGE))


def _body(required=True) -> dict:
    """The JSON object sent; with ``required=False`` an empty body is an empty object."""
    if not required and not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object (Content-Type: application/json)")
    problem = unusable_character(body)  # as the app refuses NUL in forms and queries
    if problem:
        raise _bad(f"the body contains a character that is not allowed ({problem})")
    return body


def _optional_text(body, name, limit):
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > limit or any(
            ord(c) < 0x20 or ord(c) == 0x7F for c in value)):
        raise _bad(f"{name} must be a string of at most {limit} characters, without control "
                   "characters")
    return value


def _id(value):
    """A numeric id from the path; anything else names nothing (404)."""
    number = row_id(value)
    if number is None:
        raise ApiError(404, "not_found", f"no such resource {value[:40]!r}")
    return number


def _page(items, page, per_page, total):
    return {"items": items, "page": page, "per_page": per_page, "total": total}


# --- Who am I -----------------------------------------------------------------------------------

@bp.get("/me")
@requires(None)
def me(acting):
    return {"actor": acting.actor, "roles": sorted(acting.roles),
            "permissions": sorted(roles.permissions_of(acting.roles))}


@bp.get("/openapi.json")
def openapi():
    """Public on purpose: the same document in every deployment, no more than the README and
    the source say; every operation it describes asks for a token."""
    from idp.admin.openapi import document

    return jsonify(document())


# --- Clients ------------------------------------------------------------------------------------

@bp.get("/clients")
@requires("clients.read")
def clients_list(acting):
    page, per_page = _paging()
    rows, total = registry.list_clients(query=_text_arg("q"),
                                        status=_choice_arg("status", CLIENT_STATES),
                                        page=page, per_page=per_page)
    return _page([service.client_view(c) for c in rows], page, per_page, total)


@bp.post("/clients")
@requires("clients.write")
def clients_register(acting):
    body = dict(_body())
    status = body.pop("status", "active")
    if status not in ("active", "pending"):
        raise _bad("status must be active or pending")
    role = service.client_write_role(acting.roles, acting.role, None, body.get("scope"))
    client, secret = registry.register_client(body, actor=acting.actor, role=role,
                                              status=status)
    data = service.client_view(client)
    if secret is not None:
        data["client_secret"] = secret  # shown this once
    location = url_for(".client_get", client_id=client.client_id)
    return jsonify(data), 201, {"Location": location}


@bp.get("/clients/<client_id>")
@requires("clients.read")
def client_get(acting, client_id):
    return service.client_view(registry.client_row(client_id))


@bp.patch("/clients/<client_id>")
@requires("clients.write")
def client_update(acting, client_id):
    client = registry.client_row(client_id)
    changes = _body()
    role = service.client_write_role(acting.roles, acting.role, client, changes.get("scope"))
    client = registry.update_client(client_id, changes, actor=acting.actor, role=role)
    return service.client_view(client)


@bp.delete("/clients/<client_id>")
@requires("clients.write")
def client_delete(acting, client_id):
    role = service.client_write_role(acting.roles, acting.role, registry.client_row(client_id))
    service.delete_client(client_id, actor=acting.actor, role=role)
    return "", 204


@bp.post("/clients/<client_id>/approve", endpoint="client_approve",
         defaults={"action": "approve"})
@bp.post("/clients/<client_id>/suspend", endpoint="client_suspend",
         defaults={"action": "suspend"})
@bp.post("/clients/<client_id>/activate", endpoint="client_activate",
         defaults={"action": "activate"})
@requires("clients.write")
def client_transition(acting, client_id, action):
    role = service.client_write_role(acting.roles, acting.role, registry.client_row(client_id))
    reason = _optional_text(_body(required=False), "reason", 500)
    client = service.change_status(client_id, action, actor=acting.actor, role=role,
                                   reason=reason)
    return service.client_view(client)


@bp.post("/clients/<client_id>/rotate-secret")
@requires("clients.write")
def client_rotate_secret(acting, client_id):
    role = service.client_write_role(acting.roles, acting.role, registry.client_row(client_id))
    overlap = _body(required=False).get("overlap_seconds")
    if overlap is not None and (isinstance(overlap, bool) or not isinstance(overlap, int)):
        raise _bad("overlap_seconds must be a whole number of seconds")
    secret = registry.rotate_secret(client_id, actor=acting.actor, role=role,
                                    overlap_seconds=overlap)
    client = registry.client_row(client_id)
    return {"client_id": client_id, "client_secret": secret,
            "client_secret_expires_at": client.client_secret_expires_at,
            "previous_secret_valid_until": client.previous_secret_expires_at}


@bp.get("/clients/<client_id>/usage")
@requires("clients.read")
def client_usage(acting, client_id):
    days = _int_arg("days", 30, 1, 366)
    return {"client_id": client_id, "days": service.usage(client_id, days)}


@bp.get("/clients/<client_id>/logout-deliveries")
@requires("clients.read")
def client_logout_deliveries(acting, client_id):
    """The back-channel logouts owed to the platform, newest first."""
    registry.client_row(client_id)
    page, per_page = _paging()
    rows, total = logout_service.list_deliveries(
        client_id=client_id, status=_choice_arg("status", DELIVERY_STATES), page=page,
        per_page=per_page)
    return _page([logout_service.delivery_view(r) for r in rows], page, per_page, total)


# --- Initial access tokens ----------------------------------------------------------------------

def iat_view(iat) -> dict:
    return {"id": iat.id, "label": iat.label, "issued_by": iat.issued_by,
            "issued_at": iat.issued_at, "scopes": iat.scopes, "expires_at": iat.expires_at,
            "max_uses": iat.max_uses, "uses": iat.uses, "revoked_at": iat.revoked_at,
            "auto_approve": bool(iat.auto_approve), "usable": iat.usable()}


@bp.get("/initial-access-tokens")
@requires("iat.read")
def iats_list(acting):
    return {"items": [iat_view(t) for t in registry.list_initial_access_tokens()]}


@bp.post("/initial-access-tokens")
@requires("iat.write")
def iats_issue(acting):
    body = _body()
    scopes = body.get("scopes")
    role = service.client_write_role(acting.roles, acting.role, None, scopes)
    iat, token = registry.issue_initial_access_token(
        actor=acting.actor, role=role, label=body.get("label"),
        expires_in=body.get("expires_in", 7 * 86400), max_uses=body.get("max_uses", 1),
        scopes=scopes, auto_approve=body.get("auto_approve", False) is True)
    return jsonify({**iat_view(iat), "token": token}), 201


@bp.delete("/initial-access-tokens/<token_id>")
@requires("iat.write")
def iats_revoke(acting, token_id):
    registry.revoke_initial_access_token(_id(token_id), actor=acting.actor, role=acting.role)
    return "", 204


# --- Accounts -----------------------------------------------------------------------------------

@bp.get("/users")
@requires("users.read")
def users_search(acting):
    page, per_page = _paging()
    rows, total = service.search_users(_text_arg("q"), page=page, per_page=per_page)
    return _page([service.user_summary(u) for u in rows], page, per_page, total)


@bp.get("/users/<user_id>")
@requires("users.read")
def user_get(acting, user_id):
    return service.user_detail(service.get_user(_id(user_id)))


@bp.post("/users/<user_id>/lock")
@requires("users.write")
def user_lock(acting, user_id):
    reason = _optional_text(_body(required=False), "reason", MAX_TEXT)
    user = service.lock(_id(user_id), actor=acting.actor, role=acting.role, reason=reason,
                        acting_user_id=acting.user_id)
    return service.user_detail(user)


@bp.post("/users/<user_id>/unlock")
@requires("users.write")
def user_unlock(acting, user_id):
    user = service.unlock(_id(user_id), actor=acting.actor, role=acting.role,
                          acting_user_id=acting.user_id)
    return service.user_detail(user)


@bp.post("/users/<user_id>/reset-factors")
@requires("users.write")
def user_reset_factors(acting, user_id):
    user_id = _id(user_id)
    removed = service.reset_factors(user_id, actor=acting.actor, role=acting.role,
                                    acting_user_id=acting.user_id)
    return {"factors_removed": removed, "user": service.user_detail(service.get_user(user_id))}


@bp.get("/users/<user_id>/events")
@requires("users.read")
def user_events(acting, user_id):
    return service.user_events(_id(user_id), after_id=_int_arg("after_id", None, 1,
                                                                service.MAX_ID),
                               limit=_int_arg("per_page", 50, 1, service.MAX_PER_PAGE))


# --- Signing keys -------------------------------------------------------------------------------

@bp.get("/keys")
@requires("keys.read")
def keys_list(acting):
    return {"keys": service.list_keys()}


@bp.post("/keys/rotate")
@requires("keys.write")
def keys_rotate(acting):
    changes = service.rotate_keys(actor=acting.actor, role=acting.role)
    return {"changes": changes, "keys": service.list_keys()}


# --- Audit log ----------------------------------------------------------------------------------

def audit_filters():
    filters = {name: _text_arg(name, 100) for name in ("action", "actor", "role", "target",
                                                       "outcome", "since", "until")}
    filters["user_id"] = _int_arg("user_id", None, 1, service.MAX_ID)
    return {k: v for k, v in filters.items() if v is not None}


@bp.get("/audit")
@requires("audit.read")
def audit_events(acting):
    filters = audit_filters()
    return audit.events(filters, after_id=_int_arg("after_id", None, 1, service.MAX_ID),
                        limit=_int_arg("per_page", 100, 1, audit.MAX_PAGE),
                        newest_first=_choice_arg("order", ("asc", "desc")) != "asc")


@bp.get("/audit/export")
@requires("audit.read")
def audit_export(acting):
    filters = audit_filters()
    lines = audit.export_lines(filters)  # checks the filters now
    audit.record("audit.exported", actor=acting.actor, role=acting.role,
                 detail={"filters": filters})
    return Response(stream_with_context(lines), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": 'attachment; filename="audit.jsonl"',
                             **NO_STORE})
