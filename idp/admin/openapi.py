"""The OpenAPI 3.1 document of the admin API, served at ``/admin/api/openapi.json``.

Written by hand next to the views (``idp/admin/api.py``) and kept true by tests: every route
under ``/admin/api`` is here with the same methods and the other way round, and a generated
test run (schemathesis) checks the answers against these schemas.
"""

import copy
import functools

from idp.enterprise.models import ENTERPRISE_STATES

NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
INT = {"type": "integer"}
STR = {"type": "string"}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties, required=(), additional=True):
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if not additional:
        schema["additionalProperties"] = False
    return schema


CLIENT_METADATA = {
    "client_name": {"type": "string", "maxLength": 200},
    "redirect_uris": {"type": "array", "items": STR, "maxItems": 20},
    "post_logout_redirect_uris": {"type": "array", "items": STR, "maxItems": 20},
    "grant_types": {"type": "array", "items": {
        "type": "string", "enum": ["authorization_code", "refresh_token", "client_credentials"]}},
    "response_types": {"type": "array", "items": STR},
    "token_endpoint_auth_method": {"type": "string", "enum": [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]},
    "application_type": {"type": "string", "enum": ["web", "native"]},
    "scope": {"type": "string", "description": "Space-separated; `admin` only by a super "
                                               "administrator."},
    "contacts": {"type": "array", "items": STR, "maxItems": 10},
    "logo_uri": STR, "client_uri": STR, "policy_uri": STR, "tos_uri": STR,
    "jwks": {"type": "object"},
    "jwks_uri": STR,
    "subject_type": {"type": "string", "enum": ["pairwise", "public"]},
    "id_token_signed_response_alg": STR,
    "software_id": STR, "software_version": STR,
    "backchannel_logout_uri": NULLABLE_STR,
    "backchannel_logout_session_required": {"type": "boolean"},
    "frontchannel_logout_uri": NULLABLE_STR,
    "frontchannel_logout_session_required": {"type": "boolean"},
    # the operator's policy
    "allowed_claims": {"type": ["array", "null"], "items": STR},
    "min_loa": {"type": "integer", "minimum": 1, "maximum": 4},
    "require_mfa": {"type": "boolean"},
    "enterprise_allowed": {"type": "boolean"},
    "skip_consent": {"type": "boolean"},
    "access_token_ttl": NULLABLE_INT,
    "refresh_token_ttl": NULLABLE_INT,
}

AUDIT_EVENT = _obj({
    "id": INT, "at": STR, "at_epoch": INT, "actor": STR, "role": NULLABLE_STR,
    "target": NULLABLE_STR, "user_id": NULLABLE_INT, "action": STR, "outcome": STR,
    "ip": NULLABLE_STR, "user_agent": NULLABLE_STR, "detail": {}, "prev_hash": STR,
    "hash": STR,
}, required=("id", "at", "actor", "action", "outcome", "hash"))

ENTERPRISE = _obj({
    "credit_code": STR, "name": STR, "entity_type": STR,
    "status": {"type": "string", "enum": list(ENTERPRISE_STATES)},
    "status_reason": NULLABLE_STR, "legal_representative_id": NULLABLE_INT,
    "verification": {"type": "string", "enum": ["declared", "registry"]},
    "verified_at": NULLABLE_INT, "created_at": INT, "updated_at": INT,
}, required=("credit_code", "name", "entity_type", "status"))

USER_SUMMARY = {
    "id": INT, "phone": STR, "username": NULLABLE_STR, "name": NULLABLE_STR,
    "email": NULLABLE_STR, "status": {"type": "string", "enum": ["active", "locked", "disabled"]},
    "loa": INT, "created_at": INT,
}

SCHEMAS = {
    "Error": _obj({"error": STR, "error_description": STR},
                  required=("error", "error_description")),
    "Me": _obj({"actor": STR, "roles": {"type": "array", "items": STR},
                "permissions": {"type": "array", "items": STR}},
               required=("actor", "roles", "permissions")),
    "ClientMetadata": _obj({**CLIENT_METADATA,
                            "status": {"type": "string", "enum": ["active", "pending"]}},
                           required=("client_name",)),
    "ClientChanges": _obj(CLIENT_METADATA, additional=False),
    "Client": _obj({**CLIENT_METADATA, "client_id": STR, "client_id_issued_at": INT,
                    "client_secret_expires_at": INT,
                    "status": {"type": "string", "enum": ["pending", "active", "suspended"]},
                    "status_reason": STR, "updated_at": NULLABLE_INT,
                    "roles": {"type": "array", "items": STR}},
                   required=("client_id", "client_name", "status", "roles")),
    "ClientRegistered": {"allOf": [_ref("Client"), _obj(
        {"client_secret": {"type": "string", "description": "Shown this once."}})]},
    "ClientPage": _obj({"items": {"type": "array", "items": _ref("Client")}, "page": INT,
                        "per_page": INT, "total": INT},
                       required=("items", "page", "per_page", "total")),
    "StatusChange": _obj({"reason": {"type": "string", "maxLength": 500}}),
    "SecretRotation": _obj({"overlap_seconds": {"type": "integer", "minimum": 0,
                                                "maximum": 30 * 86400}}),
    "NewSecret": _obj({"client_id": STR, "client_secret": STR,
                       "client_secret_expires_at": INT,
                       "previous_secret_valid_until": NULLABLE_INT},
                      required=("client_id", "client_secret")),
    "Usage": _obj({"client_id": STR, "days": {"type": "array", "items": _obj(
        {"date": {"type": "string", "format": "date"}, "logins": INT, "tokens": INT},
        required=("date", "logins", "tokens"))}}, required=("client_id", "days")),
    "LogoutDelivery": _obj({
        "id": INT, "client_id": STR, "user_id": NULLABLE_INT, "sid": STR, "reason": STR,
        "status": {"type": "string", "enum": ["pending", "delivered", "refused", "failed"]},
        "created_at": INT, "expires_at": INT, "attempts": INT, "next_attempt_at": NULLABLE_INT,
        "last_attempt_at": NULLABLE_INT, "last_status": NULLABLE_INT,
        "last_error": NULLABLE_STR, "jti": NULLABLE_STR, "delivered_at": NULLABLE_INT},
        required=("id", "client_id", "sid", "status", "attempts", "created_at")),
    "LogoutDeliveryPage": _obj({"items": {"type": "array", "items": _ref("LogoutDelivery")},
                                "page": INT, "per_page": INT, "total": INT},
                               required=("items", "page", "per_page", "total")),
    "InitialAccessToken": _obj({
        "id": INT, "label": STR, "issued_by": STR, "issued_at": INT, "scopes": NULLABLE_STR,
        "expires_at": INT, "max_uses": NULLABLE_INT, "uses": INT, "revoked_at": NULLABLE_INT,
        "auto_approve": {"type": "boolean"}, "usable": {"type": "boolean"}},
        required=("id", "label", "expires_at", "usable")),
    "InitialAccessTokenIssued": {"allOf": [_ref("InitialAccessToken"), _obj(
        {"token": {"type": "string", "description": "Shown this once."}},
        required=("token",))]},
    "InitialAccessTokenRequest": _obj({
        "label": {"type": "string", "minLength": 1, "maxLength": 200},
        "expires_in": {"type": "integer", "minimum": 60, "maximum": 365 * 86400},
        "max_uses": {"type": ["integer", "null"], "minimum": 1},
        "scopes": NULLABLE_STR, "auto_approve": {"type": "boolean"}}, required=("label",)),
    "InitialAccessTokenList": _obj({"items": {"type": "array",
                                              "items": _ref("InitialAccessToken")}},
                                   required=("items",)),
    "UserSummary": _obj(USER_SUMMARY, required=("id", "phone", "status", "loa")),
    "UserPage": _obj({"items": {"type": "array", "items": _ref("UserSummary")}, "page": INT,
                      "per_page": INT, "total": INT},
                     required=("items", "page", "per_page", "total")),
    "User": _obj({
        **USER_SUMMARY, "uuid": STR, "email_verified": {"type": "boolean"},
        "locked_until": NULLABLE_INT, "lock_reason": NULLABLE_STR, "failed_logins": INT,
        "failed_factors": INT,
        "roles": {"type": "array", "items": STR},
        "factors": {"type": "array", "items": _obj(
            {"id": INT, "kind": STR, "name": STR, "created_at": INT,
             "last_used_at": NULLABLE_INT}, required=("id", "kind", "name"))},
        "recovery_codes_left": INT,
        "identity": {"oneOf": [{"type": "null"}, _obj(
            {"level": INT, "source": STR, "doc_type": STR, "masked_name": STR,
             "masked_number": STR, "verified_at": NULLABLE_INT},
            required=("level", "masked_number"))]},
    }, required=("id", "phone", "status", "roles", "factors", "identity")),
    "Lock": _obj({"reason": {"type": "string", "maxLength": 200}}),
    "FactorsReset": _obj({"factors_removed": INT, "user": _ref("User")},
                         required=("factors_removed", "user")),
    "AuditEvent": AUDIT_EVENT,
    "AuditPage": _obj({"events": {"type": "array", "items": _ref("AuditEvent")},
                       "next_after_id": NULLABLE_INT}, required=("events", "next_after_id")),
    "Key": _obj({"kid": STR, "alg": STR, "state": {"type": "string",
                                                   "enum": ["next", "active", "retired"]},
                 "created_at": INT, "activated_at": NULLABLE_INT, "retired_at": NULLABLE_INT,
                 "publish_until": NULLABLE_INT}, required=("kid", "alg", "state")),
    "KeyList": _obj({"keys": {"type": "array", "items": _ref("Key")}}, required=("keys",)),
    "Enterprise": ENTERPRISE,
    "EnterprisePage": _obj({"items": {"type": "array", "items": _ref("Enterprise")},
                            "page": INT, "per_page": INT, "total": INT},
                           required=("items", "page", "per_page", "total")),
    "EnterpriseDetail": {"allOf": [_ref("Enterprise"), _obj({
        "appointments": {"type": "array", "items": _obj({
            "id": INT, "user_id": INT, "role": {"type": "string",
                                                "enum": ["administrator", "handler"]},
            "matters": {"type": "array", "items": STR}, "starts_at": INT,
            "ends_at": NULLABLE_INT, "status": {"type": "string", "enum": [
                "invited", "active", "declined", "ended"]},
            "appointed_by": STR, "appointed_as": STR},
            required=("id", "user_id", "role", "matters", "status"))},
        "authorisations_given": {"type": "array", "items": _ref("Authorisation")},
        "authorisations_received": {"type": "array", "items": _ref("Authorisation")}},
        required=("appointments", "authorisations_given", "authorisations_received"))]},
    "Authorisation": _obj({"id": INT, "principal": STR, "agent": STR,
                           "matters": {"type": "array", "items": STR}, "starts_at": INT,
                           "ends_at": INT, "status": {"type": "string",
                                                      "enum": ["active", "ended"]}},
                          required=("id", "principal", "agent", "matters", "status")),
    "EnterpriseStatus": _obj({"status": {"type": "string", "enum": list(ENTERPRISE_STATES)},
                              "reason": {"type": "string", "maxLength": 500}},
                             required=("status",)),
    "KeyRotation": _obj({"changes": {"type": "array", "items": _obj(
        {"alg": STR, "state": STR, "kid": STR}, required=("alg", "state", "kid"))},
        "keys": {"type": "array", "items": _ref("Key")}}, required=("changes", "keys")),
}

ERRORS = {
    "400": "The request is malformed: a parameter, the body or the way the access token is "
           "sent (`invalid_request`, RFC 6750) is not acceptable.",
    "401": "No access token, or one that is invalid, expired or revoked "
           "(`invalid_token`), or an administrator's login without two factors "
           "(`insufficient_user_authentication`, RFC 9470).",
    "403": "The token lacks the `admin` scope (`insufficient_scope`), or none of the caller's "
           "roles allows the operation (`forbidden`).",
    "404": "No such client, account, token, provider or enterprise.",
    "409": "The client's status does not allow this change.",
}


def _json(schema, description):
    return {"description": description,
            "content": {"application/json": {"schema": schema}}}


def _error(code):
    response = _json(_ref("Error"), ERRORS[code])
    if code in ("401", "403"):
        response["headers"] = {"WWW-Authenticate": {
            "description": "RFC 6750 challenge (absent for a role that is not allowed).",
            "schema": STR}}
    return response


def _query(name, schema, description):
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _path(name, description, pattern=None):
    schema = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


PAGING = [_query("page", {"type": "integer", "minimum": 1, "maximum": 10_000}, "Page, from 1."),
          _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100},
                 "Items per page (default 20).")]
CLIENT_ID = _path("client_id", "The client's client_id.", r"^[A-Za-z0-9._~-]{1,64}$")
USER_ID = _path("user_id", "The account's id.", r"^[0-9]{1,10}$")
TOKEN_ID = _path("token_id", "The initial access token's id.", r"^[0-9]{1,10}$")
CREDIT_CODE = _path("credit_code", "The enterprise's unified social credit code.",
                    r"^[0-9A-HJ-NPQRTUWXY]{18}$")
AUDIT_FILTERS = [
    _query("action", {"type": "string", "maxLength": 100}, "Action prefix (`login.`)."),
    _query("actor", {"type": "string", "maxLength": 100}, "Exactly this actor (`user:7`)."),
    _query("role", {"type": "string", "maxLength": 100}, "Role acted in."),
    _query("target", {"type": "string", "maxLength": 100}, "`client:<id>`, `user:<id>` …"),
    _query("outcome", {"type": "string", "maxLength": 100}, "`success` or `failure`."),
    _query("since", {"type": "string", "maxLength": 100},
           "From (inclusive): ISO 8601 date or time, or Unix time."),
    _query("until", {"type": "string", "maxLength": 100}, "Until (exclusive), as `since`."),
    _query("user_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
           "Events concerning this account."),
]


def _op(summary, permission, responses, *, params=(), body=None, body_required=True,
        errors=("400", "401", "403")):
    op = {"summary": summary, "parameters": list(params), "responses": dict(responses)}
    if permission:
        op["description"] = f"Needs the permission `{permission}`."
        op["x-permission"] = permission
    if body is not None:
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": _ref(body)}}}
    for code in errors:
        op["responses"][code] = _error(code)
    return op


def _ok(schema, description="OK", code="200"):
    return {code: _json(_ref(schema), description)}


NO_CONTENT = {"204": {"description": "Done."}}
ONE = ("400", "401", "403", "404")
CHANGE = ("400", "401", "403", "404", "409")

PATHS = {
    "/admin/api/openapi.json": {"get": {
        "summary": "This document.", "security": [], "parameters": [],
        "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")}}},
    "/admin/api/me": {"get": _op("The caller: actor, roles and permissions.", None,
                                 _ok("Me"), errors=("401", "403"))},
    "/admin/api/clients": {
        "get": _op("List or search clients, newest first.", "clients.read", _ok("ClientPage"),
                   params=[_query("q", {"type": "string", "maxLength": 200},
                                  "Part of the name, or the start of the client_id."),
                           _query("status", {"type": "string",
                                             "enum": ["pending", "active", "suspended"]},
                                  "Only clients in this status."), *PAGING]),
        "post": _op("Register a client (RFC 7591 metadata and policy). Its secret is in the "
                    "answer, once.", "clients.write",
                    _ok("ClientRegistered", "Registered.", "201"), body="ClientMetadata"),
    },
    "/admin/api/clients/{client_id}": {
        "parameters": [CLIENT_ID],
        "get": _op("A client's metadata, policy, status and roles.", "clients.read",
                   _ok("Client"), errors=ONE),
        "patch": _op("Change metadata and policy fields (the others stay).", "clients.write",
                     _ok("Client"), body="ClientChanges", errors=ONE),
        "delete": _op("Delete the client; its tokens are revoked.", "clients.write",
                      NO_CONTENT, errors=ONE),
    },
    "/admin/api/clients/{client_id}/approve": {"parameters": [CLIENT_ID], "post": _op(
        "Approve a pending client.", "clients.write", _ok("Client"), body="StatusChange",
        body_required=False, errors=CHANGE)},
    "/admin/api/clients/{client_id}/suspend": {"parameters": [CLIENT_ID], "post": _op(
        "Suspend a client: no logins or tokens until activated.", "clients.write",
        _ok("Client"), body="StatusChange", body_required=False, errors=CHANGE)},
    "/admin/api/clients/{client_id}/activate": {"parameters": [CLIENT_ID], "post": _op(
        "Re-activate a suspended client.", "clients.write", _ok("Client"), body="StatusChange",
        body_required=False, errors=CHANGE)},
    "/admin/api/clients/{client_id}/rotate-secret": {"parameters": [CLIENT_ID], "post": _op(
        "A new secret, in this answer only; the old one works for `overlap_seconds` "
        "(default a day).", "clients.write", _ok("NewSecret"), body="SecretRotation",
        body_required=False, errors=ONE)},
    "/admin/api/clients/{client_id}/usage": {"parameters": [CLIENT_ID], "get": _op(
        "Logins and tokens per day.", "clients.read", _ok("Usage"),
        params=[_query("days", {"type": "integer", "minimum": 1, "maximum": 366},
                       "How many days up to today (default 30).")], errors=ONE)},
    "/admin/api/clients/{client_id}/logout-deliveries": {"parameters": [CLIENT_ID], "get": _op(
        "Back-channel logouts owed to the platform, newest first: status (`pending`: being "
        "retried, `delivered`, `refused`: the platform answered 4xx, `failed`: given up), "
        "attempts, its last answer.", "clients.read", _ok("LogoutDeliveryPage"),
        params=[_query("status", {"type": "string",
                                  "enum": ["pending", "delivered", "refused", "failed"]},
                       "Only deliveries in this status."), *PAGING], errors=ONE)},
    "/admin/api/initial-access-tokens": {
        "get": _op("Initial access tokens for dynamic registration.", "iat.read",
                   _ok("InitialAccessTokenList"), errors=("401", "403")),
        "post": _op("Issue an initial access token (RFC 7591 3); the token is in the answer, "
                    "once.", "iat.write", _ok("InitialAccessTokenIssued", "Issued.", "201"),
                    body="InitialAccessTokenRequest"),
    },
    "/admin/api/initial-access-tokens/{token_id}": {"parameters": [TOKEN_ID], "delete": _op(
        "Revoke an initial access token (clients it registered stay).", "iat.write",
        NO_CONTENT, errors=("401", "403", "404"))},
    "/admin/api/users": {"get": _op(
        "Search accounts by mobile number (whole or part), email or username.", "users.read",
        _ok("UserPage"), params=[_query("q", {"type": "string", "maxLength": 200},
                                        "Number, digits of one, email or username."),
                                 *PAGING])},
    "/admin/api/users/{user_id}": {"parameters": [USER_ID], "get": _op(
        "An account: status, factors, roles, identity (masked).", "users.read", _ok("User"),
        errors=("401", "403", "404"))},
    "/admin/api/users/{user_id}/lock": {"parameters": [USER_ID], "post": _op(
        "Lock the account (status disabled) until unlocked; its sessions end and its tokens "
        "are revoked.", "users.write", _ok("User"), body="Lock", body_required=False,
        errors=ONE)},
    "/admin/api/users/{user_id}/unlock": {"parameters": [USER_ID], "post": _op(
        "Unlock the account and clear its failed logins.", "users.write", _ok("User"),
        errors=("401", "403", "404"))},
    "/admin/api/users/{user_id}/reset-factors": {"parameters": [USER_ID], "post": _op(
        "Remove every second factor and recovery code.", "users.write", _ok("FactorsReset"),
        errors=("401", "403", "404"))},
    "/admin/api/users/{user_id}/events": {"parameters": [USER_ID], "get": _op(
        "The account's security events, newest first.", "users.read", _ok("AuditPage"),
        params=[_query("after_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                       "Cursor: `next_after_id` of the previous page."),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100},
                       "Events per page (default 50).")], errors=ONE)},
    "/admin/api/enterprises": {"get": _op(
        "Search enterprises by credit code (its beginning) or name, newest first.",
        "enterprises.read", _ok("EnterprisePage"), params=[
            _query("q", {"type": "string", "maxLength": 200},
                   "The beginning of a credit code, or part of a name."),
            _query("status", {"type": "string", "enum": list(ENTERPRISE_STATES)},
                   "Only enterprises in this status."), *PAGING])},
    "/admin/api/enterprises/{credit_code}": {"parameters": [CREDIT_CODE], "get": _op(
        "An enterprise, its administrators and handlers, and its authorisations of agent "
        "firms.", "enterprises.read", _ok("EnterpriseDetail"), errors=ONE)},
    "/admin/api/enterprises/{credit_code}/status": {"parameters": [CREDIT_CODE], "post": _op(
        "Record the registry's status: a cancelled or revoked enterprise acts for nobody "
        "(its tokens stop at their next use).", "enterprises.write", _ok("EnterpriseDetail"),
        body="EnterpriseStatus", errors=ONE)},
    "/admin/api/enterprises/{credit_code}/events": {"parameters": [CREDIT_CODE], "get": _op(
        "The enterprise's audit events, newest first.", "enterprises.read", _ok("AuditPage"),
        params=[_query("after_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                       "Cursor: `next_after_id` of the previous page."),
                _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100},
                       "Events per page (default 50).")], errors=ONE)},
    "/admin/api/keys": {"get": _op("The signing keys (public parts only).", "keys.read",
                                   _ok("KeyList"), errors=("401", "403"))},
    "/admin/api/keys/rotate": {"post": _op(
        "Rotate: the next key signs, the signing key retires, a new next key is published.",
        "keys.write", _ok("KeyRotation"), errors=("401", "403"))},
    "/admin/api/audit": {"get": _op(
        "Filter the audit log; a page of events and the cursor of the next.", "audit.read",
        _ok("AuditPage"), params=[
            *AUDIT_FILTERS,
            _query("after_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                   "Cursor: `next_after_id` of the previous page."),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 1000},
                   "Events per page (default 100)."),
            _query("order", {"type": "string", "enum": ["asc", "desc"]},
                   "`desc` (newest first, default) or `asc`.")])},
    "/admin/api/audit/export": {"get": _op(
        "Export the matching events, oldest first, as JSON Lines (streamed).", "audit.read",
        {"200": {"description": "One event per line.", "content": {
            "application/x-ndjson": {"schema": {"type": "string"}}}}},
        params=AUDIT_FILTERS)},
}


# --- Regional identity providers (idp.federation.api) ---------------------------------------

UPSTREAM_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "issuer": {"type": "string", "maxLength": 255,
               "description": "Discovery: the issuer + /.well-known/openid-configuration."},
    "client_id": {"type": "string", "minLength": 1, "maxLength": 255},
    "auth_method": {"type": "string", "enum": ["client_secret_basic", "client_secret_post"]},
    "scope": {"type": "string", "maxLength": 255, "description": "Must include openid."},
    "claim_map": {"type": "object", "description": "Our claim (name, phone_number, "
                                                   "phone_number_verified) -> its claim.",
                  "additionalProperties": {"type": "string", "maxLength": 100}},
    "acr_map": {"type": "object", "description": "Its acr value -> our level (empty: our "
                                                 "own acr values).",
                "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 4}},
    "max_level": {"type": "integer", "minimum": 1, "maximum": 4},
    "enabled": {"type": "boolean"},
}
SECRET = {"client_secret": {"type": "string", "minLength": 1, "maxLength": 512,
                            "description": "Sealed at rest; never returned."}}
SLUG = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,31}$"}
SCHEMAS.update({
    "Upstream": _obj({**UPSTREAM_FIELDS, "slug": SLUG, "callback_url": STR, "links": INT,
                      "created_at": INT, "updated_at": INT},
                     required=("slug", "name", "issuer", "client_id", "max_level", "enabled",
                               "callback_url")),
    "UpstreamNew": _obj({**UPSTREAM_FIELDS, **SECRET, "slug": SLUG},
                        required=("slug", "name", "issuer", "client_id", "client_secret",
                                  "max_level"), additional=False),
    "UpstreamChanges": _obj({**UPSTREAM_FIELDS, **SECRET}, additional=False),
    "UpstreamList": _obj({"items": {"type": "array", "items": _ref("Upstream")}},
                         required=("items",)),
})
UPSTREAM_SLUG = _path("slug", "The provider's short name.", SLUG["pattern"])
PATHS.update({
    "/admin/api/upstreams": {
        "get": _op("Regional identity providers logins may go through.", "upstreams.read",
                   _ok("UpstreamList"), errors=("401", "403")),
        "post": _op("Add one. Register its `callback_url` with it first (as a redirect URI "
                    "and a post-logout redirect URI).", "upstreams.write",
                    _ok("Upstream", "Added.", "201"), body="UpstreamNew"),
    },
    "/admin/api/upstreams/{slug}": {
        "parameters": [UPSTREAM_SLUG],
        "get": _op("One provider (never its secret).", "upstreams.read", _ok("Upstream"),
                   errors=ONE),
        "patch": _op("Change fields (the others stay); a new `client_secret` replaces the "
                     "old.", "upstreams.write", _ok("Upstream"), body="UpstreamChanges",
                     errors=ONE),
        "delete": _op("Remove it and every account's link to it.", "upstreams.write",
                      NO_CONTENT, errors=ONE),
    },
    "/admin/api/upstreams/{slug}/enable": {"parameters": [UPSTREAM_SLUG], "post": _op(
        "Offer it on the login page.", "upstreams.write", _ok("Upstream"), errors=ONE)},
    "/admin/api/upstreams/{slug}/disable": {"parameters": [UPSTREAM_SLUG], "post": _op(
        "Stop logins through it (links stay).", "upstreams.write", _ok("Upstream"),
        errors=ONE)},
})


@functools.cache
def _document():
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Unified identity authentication provider: admin API",
            "version": "1",
            "description": (
                "The administration console's operations for scripts. Authenticate with a "
                "bearer access token of this provider carrying the `admin` scope: a client's "
                "own token (client_credentials; the roles an operator granted the client) or "
                "an administrator's token from a login with two factors (the staff member's "
                "roles). Every operation needs a permission of one of those roles and is "
                "audited."),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT (RFC 9068), scope admin"}},
            "schemas": SCHEMAS,
        },
    }


def document() -> dict:
    return copy.deepcopy(_document())
