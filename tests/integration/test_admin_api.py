"""The admin API (/admin/api): bearer tokens of this provider with the admin scope — a
client's own (client_credentials, roles granted to the client) or an administrator's (two
factors, the staff member's roles) — every operation, each role refused what it may not do,
RFC 6750 errors, and the audit trail of every act. Also ``idp admins … / idp users …``."""

import json
import time

import pyotp
import pytest
from freezegun import freeze_time

from idp.accounts.models import User
from idp.admin import roles
from idp.audit.models import AuditEvent
from mfa import totp
from tests import factories as f
from tests.integration.test_mfa_login import submit

# --- helpers shared with the console tests ---------------------------------------------------


class Codes:
    """Distinct TOTP codes valid now (each time step is accepted once): now, next, previous."""

    def __init__(self, app_totp):
        self.app_totp, self.offsets = app_totp, [0, 30, -30]

    def next(self):
        return self.app_totp.at(time.time() + self.offsets.pop(0))


def make_staff(app, phone, *role_names, second_factor=True, name="职员"):
    """An account holding ``role_names``; with ``second_factor`` an authenticator app
    (enrolled in the past, so that today's codes are fresh). Returns (user id, Codes)."""
    with app.app_context():
        user = f.user(phone=phone, name=name)
        for role in role_names:
            roles.grant(user, role, actor="test")
        user_id = user.id
        if not second_factor:
            return user_id, None
        with freeze_time("2026-01-01 07:00:00"):
            factor, _uri, _svg, secret_text = totp.begin_enrolment(user, "手机")
            app_totp = pyotp.TOTP(secret_text.replace(" ", ""))
            assert totp.confirm(factor, app_totp.now())
    return user_id, Codes(app_totp)


def log_in(flow, page, phone, codes):
    """Password, then (if asked) the authenticator code."""
    page = flow.login(page, username=phone)
    if codes is not None and 'name="code"' in page.get_data(as_text=True):
        page = submit(flow, page, "/mfa/totp", code=codes.next())
    return page


def user_token(app, phone, codes, scope="openid admin"):
    """An administrator's access token from the authorization code flow of an admin tool."""
    with app.app_context():
        cid, secret = f.rp(name="Admin tool", scope="openid admin")
    flow = f.Flow(app.test_client())
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(cid, challenge, scope=scope)))
    page = log_in(flow, page, phone, codes)
    if page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True):
        page = flow.consent(page)
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    code = f.query(page.headers["Location"])["code"]
    r = app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["access_token"]


def client_token(app, *role_names, scope="admin", name="Admin robot"):
    """(client_id, access token) of a client_credentials client holding ``role_names``."""
    with app.app_context():
        cid, secret = f.rp(name=name, redirect_uris=(), grant_types=["client_credentials"],
                           scope=scope)
        for role in role_names:
            roles.grant_client(cid, role, actor="test")
    r = app.test_client().post("/token", auth=(cid, secret),
                               data={"grant_type": "client_credentials", "scope": scope})
    assert r.status_code == 200, r.get_json()
    return cid, r.get_json()["access_token"]


class Api:
    def __init__(self, app, token):
        self.http, self.token = app.test_client(), token

    def __call__(self, method, path, **kw):
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.http.open("/admin/api" + path, method=method, headers=headers, **kw)

    def get(self, path, **kw):
        return self("GET", path, **kw)

    def post(self, path, **kw):
        return self("POST", path, **kw)


def events(app, **filters):
    with app.app_context():
        return AuditEvent.query.filter_by(**filters).order_by(AuditEvent.id).all()


def last_event(app, action):
    found = events(app, action=action)
    assert found, f"no {action} event"
    return found[-1]


NEW_CLIENT = {"client_name": "税务平台", "redirect_uris": ["https://tax.gov.example/cb"],
              "scope": "openid profile"}
MACHINE = {"client_name": "统计接口", "grant_types": ["client_credentials"], "scope": "reports"}


# --- authentication ---------------------------------------------------------------------------

def test_a_token_is_required_and_checked(app):
    http = app.test_client()
    r = http.get("/admin/api/clients")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="admin"'  # RFC 6750 3.1: no code
    assert r.headers["Cache-Control"] == "no-store"
    r = http.get("/admin/api/clients", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    with app.app_context():
        f.user()
        cid, secret = f.rp()
    tokens = f.Flow(app.test_client())
    verifier, challenge = f.pkce()
    q = tokens.code(f.authorize_params(cid, challenge))
    id_token = app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier}).get_json()["id_token"]
    r = http.get("/admin/api/me", headers={"Authorization": f"Bearer {id_token}"})
    assert r.status_code == 401  # an ID token is no access token


def test_a_token_without_the_admin_scope_is_refused(app):
    _cid, token = client_token(app, "super_admin", scope="reports")
    r = Api(app, token).get("/clients")
    assert r.status_code == 403 and r.get_json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    token = user_token(app, "13900139000", codes, scope="openid")
    assert Api(app, token).get("/me").status_code == 403


def test_a_client_without_a_role_may_do_nothing(app):
    cid, token = client_token(app)
    api = Api(app, token)
    me = api.get("/me").get_json()
    assert me == {"actor": f"client:{cid}", "roles": [], "permissions": []}
    r = api.get("/clients")
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert api.post("/clients", json=NEW_CLIENT).status_code == 403
    denied = last_event(app, "admin.denied")
    assert denied.outcome == "failure" and denied.actor == f"client:{cid}"
    assert denied.detail["permission"] == "clients.write"


def test_an_administrators_token_needs_two_factors(app):
    make_staff(app, "13900139000", "super_admin", second_factor=False)
    token = user_token(app, "13900139000", None)
    r = Api(app, token).get("/me")
    assert r.status_code == 401
    assert r.get_json()["error"] == "insufficient_user_authentication"


def test_an_administrators_token_acts_in_their_roles(app):
    uid, codes = make_staff(app, "13900139000", "client_registrar", "auditor")
    api = Api(app, user_token(app, "13900139000", codes))
    me = api.get("/me").get_json()
    assert me["actor"] == f"user:{uid}" and me["roles"] == ["auditor", "client_registrar"]
    assert api.post("/keys/rotate").status_code == 403
    r = api.post("/clients", json=NEW_CLIENT)
    assert r.status_code == 201
    event = last_event(app, "client.registered")
    assert (event.actor, event.role) == (f"user:{uid}", "client_registrar")
    assert api.get("/clients").status_code == 200
    with app.app_context():
        roles.revoke(db_user(uid), "client_registrar", actor="test")
    assert api.post("/clients", json=NEW_CLIENT).status_code == 403  # checked at each call


def db_user(uid):
    from idp.extensions import db

    return db.session.get(User, uid)


def test_a_suspended_clients_tokens_stop(app):
    cid, token = client_token(app, "super_admin")
    api = Api(app, token)
    assert api.get("/me").status_code == 200
    _other, other = client_token(app, "super_admin", name="Second robot")
    assert Api(app, other).post(f"/clients/{cid}/suspend").status_code == 200
    assert api.get("/me").status_code == 401


def test_tokens_of_dynamically_registered_clients_cannot_administer(app):
    _cid, token = client_token(app, "client_registrar")
    iat = Api(app, token).post("/initial-access-tokens", json={
        "label": "t", "expires_in": 3600, "auto_approve": True}).get_json()["token"]
    rogue = {"client_name": "Rogue", "redirect_uris": [f.REDIRECT_URI], "scope": "openid admin"}
    r = app.test_client().post("/connect/register", headers={"Authorization": f"Bearer {iat}"},
                               json=rogue)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    # even a token a super administrator issued for the admin scope gives no administration
    _cid, token = client_token(app, "super_admin")
    iat = Api(app, token).post("/initial-access-tokens", json={
        "label": "t", "expires_in": 3600, "auto_approve": True,
        "scopes": "openid admin"}).get_json()["token"]
    r = app.test_client().post("/connect/register", headers={"Authorization": f"Bearer {iat}"},
                               json=rogue)
    assert r.status_code == 201, r.get_json()
    registered = r.get_json()
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    flow = f.Flow(app.test_client())
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(registered["client_id"], challenge,
                                                     scope="openid admin")))
    page = flow.consent(log_in(flow, page, "13900139000", codes))
    code = f.query(page.headers["Location"])["code"]
    token = app.test_client().post("/token", auth=(registered["client_id"],
                                                   registered["client_secret"]), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier}).get_json()["access_token"]
    r = Api(app, token).get("/me")
    assert r.status_code == 403 and r.get_json()["error"] == "insufficient_scope"


# --- clients ----------------------------------------------------------------------------------

def test_clients_register_list_change_suspend_rotate_and_delete(app):
    robot, token = client_token(app, "client_registrar")
    api = Api(app, token)
    r = api.post("/clients", json=MACHINE)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    cid, secret = created["client_id"], created["client_secret"]
    assert r.headers["Location"].endswith(f"/admin/api/clients/{cid}")
    assert created["status"] == "active" and created["roles"] == []
    assert app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "client_credentials"}).status_code == 200

    listed = api.get("/clients", query_string={"q": "统计"}).get_json()
    assert [c["client_id"] for c in listed["items"]] == [cid] and listed["total"] == 1
    assert api.get("/clients", query_string={"status": "pending"}).get_json()["total"] == 0
    got = api.get(f"/clients/{cid}").get_json()
    assert "client_secret" not in got and got["client_name"] == "统计接口"

    r = api("PATCH", f"/clients/{cid}", json={"client_name": "统计接口 v2", "min_loa": 2})
    assert r.status_code == 200 and r.get_json()["client_name"] == "统计接口 v2"
    updated = last_event(app, "client.updated")
    assert updated.detail["before"] == {"client_name": "统计接口", "min_loa": 1}
    assert updated.detail["after"] == {"client_name": "统计接口 v2", "min_loa": 2}

    r = api.post(f"/clients/{cid}/suspend", json={"reason": "security review"})
    assert r.status_code == 200 and r.get_json()["status"] == "suspended"
    r = api.post(f"/clients/{cid}/suspend")
    assert r.status_code == 409 and r.get_json()["error"] == "conflict"
    assert api.post(f"/clients/{cid}/approve").status_code == 409
    assert app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "client_credentials"}).status_code == 401
    assert api.post(f"/clients/{cid}/activate").get_json()["status"] == "active"

    r = api.post(f"/clients/{cid}/rotate-secret", json={"overlap_seconds": 0})
    assert r.status_code == 200
    new_secret = r.get_json()["client_secret"]
    assert new_secret != secret and r.get_json()["previous_secret_valid_until"] is None
    assert app.test_client().post("/token", auth=(cid, new_secret), data={
        "grant_type": "client_credentials"}).status_code == 200
    assert app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "client_credentials"}).status_code == 401

    usage = api.get(f"/clients/{cid}/usage", query_string={"days": 7}).get_json()
    assert len(usage["days"]) == 7 and set(usage["days"][0]) == {"date", "logins", "tokens"}

    assert api("DELETE", f"/clients/{cid}").status_code == 204
    assert api.get(f"/clients/{cid}").status_code == 404

    trail = events(app, target=f"client:{cid}")
    assert [e.action for e in trail] == [
        "client.registered", "client.updated", "client.suspended", "client.activated",
        "client.secret_rotated", "client.deleted"]
    for event in trail:
        assert (event.actor, event.role) == (f"client:{robot}", "client_registrar")
        assert "before" in event.detail and "after" in event.detail
        assert secret not in json.dumps(event.detail) and new_secret not in json.dumps(
            event.detail)
    assert trail[2].detail["after"] == {"status": "suspended", "reason": "security review"}


def test_pending_clients_are_approved(app):
    _robot, token = client_token(app, "client_registrar")
    api = Api(app, token)
    cid = api.post("/clients", json={**NEW_CLIENT, "status": "pending"}).get_json()["client_id"]
    assert api.post(f"/clients/{cid}/activate").status_code == 409
    r = api.post(f"/clients/{cid}/approve")
    assert r.status_code == 200 and r.get_json()["status"] == "active"
    assert last_event(app, "client.approved").detail == {"before": {"status": "pending"},
                                                         "after": {"status": "active"}}


def test_only_a_super_administrator_gives_the_admin_scope(app):
    _robot, registrar = client_token(app, "client_registrar")
    admin_client = {**MACHINE, "scope": "admin"}
    r = Api(app, registrar).post("/clients", json=admin_client)
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    cid = Api(app, registrar).post("/clients", json=MACHINE).get_json()["client_id"]
    assert Api(app, registrar)("PATCH", f"/clients/{cid}",
                               json={"scope": "reports admin"}).status_code == 403
    _root, root = client_token(app, "super_admin", name="Root robot")
    assert Api(app, root).post("/clients", json=admin_client).status_code == 201
    assert Api(app, root)("PATCH", f"/clients/{cid}",
                          json={"scope": "reports admin"}).status_code == 200


def test_only_a_super_administrator_changes_a_client_that_administers(app):
    """A registrar must not take over an administering client (a new secret, new redirect
    URIs) and act in its roles."""
    robot, _ = client_token(app, "super_admin", name="Root robot")
    _registrar_robot, registrar = client_token(app, "client_registrar")
    api = Api(app, registrar)
    assert api.post(f"/clients/{robot}/rotate-secret").status_code == 403
    assert api(("PATCH"), f"/clients/{robot}", json={"client_name": "Mine"}).status_code == 403
    assert api.post(f"/clients/{robot}/suspend").status_code == 403
    assert api("DELETE", f"/clients/{robot}").status_code == 403
    _root_robot, root = client_token(app, "super_admin", name="Other root robot")
    r = Api(app, root).post(f"/clients/{robot}/rotate-secret")
    assert r.status_code == 200
    assert last_event(app, "client.secret_rotated").role == "super_admin"


def test_client_errors_are_json(app):
    _robot, token = client_token(app, "client_registrar")
    api = Api(app, token)
    r = api.post("/clients", json={"client_name": "x", "redirect_uris": ["http://evil/cb"]})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_redirect_uri"
    r = api.post("/clients", data="not json", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"
    for nested in ("[" * 5000 + "]" * 5000,  # deeper than the JSON parser goes
                   '{"client_name": ' + "[" * 990 + "]" * 990 + "}"):
        r = api.post("/clients", data=nested, content_type="application/json")
        assert r.status_code == 400 and r.get_json()["error"] in (
            "invalid_request", "invalid_client_metadata")
    r = api.post("/clients", json={**NEW_CLIENT, "client_name": "a\x00b"})
    assert r.status_code == 400
    # a lone surrogate ("\ud800" in JSON) is no character: no text of ours holds one
    for path, body in (("/clients", {**NEW_CLIENT, "client_name": "a\ud800b"}),
                       ("/initial-access-tokens", {"label": "\udfff", "expires_in": 60})):
        r = api.post(path, json=body)
        assert r.status_code == 400 and r.get_json() == {
            "error": "invalid_request", "error_description": "the body contains a character "
            "that is not allowed (a lone surrogate)"}
    cid = api.post("/clients", json=NEW_CLIENT).get_json()["client_id"]
    r = api("PATCH", f"/clients/{cid}", json={"status": "active"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    assert api.get("/clients/nope").get_json()["error"] == "not_found"
    assert api.get("/clients/a%00b").status_code == 404
    assert api.get("/clients", query_string={"per_page": "0"}).status_code == 400
    assert api.get("/clients", query_string={"page": "x"}).status_code == 400
    assert api.get("/clients", query_string={"q": "a\x00"}).status_code == 400
    r = api("PUT", "/clients")
    assert r.status_code == 405 and r.get_json()["error"] == "invalid_request"
    assert "POST" in r.headers["Allow"]
    r = api.get("/no/such/thing")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"


# --- initial access tokens -------------------------------------------------------------------

def test_initial_access_tokens(app):
    robot, token = client_token(app, "client_registrar")
    api = Api(app, token)
    r = api.post("/initial-access-tokens", json={"label": "社保局", "expires_in": 86400,
                                                  "max_uses": 2, "scopes": "openid profile"})
    assert r.status_code == 201, r.get_json()
    issued = r.get_json()
    assert issued["token"] and issued["usable"] and issued["max_uses"] == 2
    listed = api.get("/initial-access-tokens").get_json()["items"]
    assert [t["id"] for t in listed] == [issued["id"]] and "token" not in listed[0]
    assert api.post("/initial-access-tokens", json={"label": ""}).status_code == 400
    assert api.post("/initial-access-tokens", json={"label": "x", "scopes": "admin"}
                    ).status_code == 403
    assert api("DELETE", f"/initial-access-tokens/{issued['id']}").status_code == 204
    assert api.get("/initial-access-tokens").get_json()["items"][0]["usable"] is False
    assert api("DELETE", "/initial-access-tokens/999").status_code == 404
    assert api("DELETE", "/initial-access-tokens/abc").status_code == 404
    trail = events(app, target=f"iat:{issued['id']}")
    assert [e.action for e in trail] == ["client.iat_issued", "client.iat_revoked"]
    assert all((e.actor, e.role) == (f"client:{robot}", "client_registrar") for e in trail)
    assert issued["token"] not in json.dumps([e.detail for e in trail])


# --- accounts ---------------------------------------------------------------------------------

def citizen(app, phone="13800138000", **kw):
    with app.app_context():
        return f.user(phone=phone, **kw).id


def test_users_search_view_lock_unlock_and_reset(app):
    from idp.accounts.service import authenticate
    from idp.realname import service as realname

    uid = citizen(app, username="zhangsan")
    with app.app_context():
        realname.declare(db_user(uid), "resident_id", "张三", "11010519491231002X", actor="test")
    _cid, codes = make_staff(app, "13800138001", second_factor=True)  # a citizen's factor too
    robot, token = client_token(app, "user_admin")
    api = Api(app, token)

    for q in ("13800138000", "+86 138 0013 8000", "8000", "zhang"):
        found = api.get("/users", query_string={"q": q}).get_json()
        assert [u["id"] for u in found["items"]] == [uid], q
    assert api.get("/users", query_string={"q": "nobody"}).get_json()["total"] == 0
    detail = api.get(f"/users/{uid}").get_json()
    assert detail["status"] == "active" and detail["factors"] == []
    assert detail["identity"]["masked_number"] != "11010519491231002X"
    assert "11010519491231002X" not in json.dumps(detail)
    assert "张三" not in json.dumps(detail["identity"])

    r = api.post(f"/users/{uid}/lock", json={"reason": "reported stolen phone"})
    assert r.status_code == 200 and r.get_json()["status"] == "disabled"
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).problem == "disabled"
    r = api.post(f"/users/{uid}/unlock")
    assert r.status_code == 200 and r.get_json()["status"] == "active"
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).user is not None

    other = api.get("/users", query_string={"q": "13800138001"}).get_json()["items"][0]["id"]
    r = api.post(f"/users/{other}/reset-factors")
    assert r.status_code == 200 and r.get_json()["factors_removed"] == 1
    assert r.get_json()["user"]["factors"] == []
    assert api.post(f"/users/{other}/reset-factors").get_json()["factors_removed"] == 0

    page = api.get(f"/users/{uid}/events", query_string={"per_page": 1}).get_json()
    assert page["events"][0]["action"] == "account.unlocked" and page["next_after_id"]
    older = api.get(f"/users/{uid}/events",
                    query_string={"after_id": page["next_after_id"]}).get_json()
    assert "account.locked" in [e["action"] for e in older["events"]]

    locked, unlocked = last_event(app, "account.locked"), last_event(app, "account.unlocked")
    reset = last_event(app, "mfa.factors.reset")
    for event in (locked, unlocked, reset):
        assert (event.actor, event.role) == (f"client:{robot}", "user_admin")
    assert locked.target == f"user:{uid}" and locked.user_id == uid
    assert locked.detail["before"]["status"] == "active"
    assert locked.detail["after"] == {"status": "disabled", "lock_reason": "reported stolen phone"}
    assert unlocked.detail["after"]["status"] == "active"
    assert reset.detail["before"]["factors"][0]["kind"] == "totp"
    assert reset.detail["after"] == {"factors": [], "recovery_codes_left": 0}

    assert api.get("/users/999999").status_code == 404
    assert api.get("/users/99999999999").status_code == 404
    assert api.get("/users/abc").status_code == 404


def test_staff_accounts_are_for_super_administrators_and_nobody_locks_themselves(app):
    staff_id, _codes = make_staff(app, "13900139000", "auditor", second_factor=False)
    _robot, token = client_token(app, "user_admin")
    r = Api(app, token).post(f"/users/{staff_id}/lock")
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    _root, root = client_token(app, "super_admin", name="Root robot")
    assert Api(app, root).post(f"/users/{staff_id}/lock").status_code == 200
    admin_id, codes = make_staff(app, "13700137000", "super_admin")
    mine = Api(app, user_token(app, "13700137000", codes))
    assert mine.post(f"/users/{admin_id}/lock").status_code == 403
    assert mine.post(f"/users/{admin_id}/reset-factors").status_code == 403


def test_locking_ends_sessions_and_revokes_tokens(app):
    citizen(app)
    with app.app_context():
        cid, secret = f.rp()
    flow = f.Flow(app.test_client())
    verifier, challenge = f.pkce()
    q = flow.code(f.authorize_params(cid, challenge))
    tokens = app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier}).get_json()
    _robot, token = client_token(app, "user_admin")
    uid = Api(app, token).get("/users", query_string={"q": "13800138000"}).get_json()[
        "items"][0]["id"]
    assert Api(app, token).post(f"/users/{uid}/lock").status_code == 200
    assert flow.get("/account").status_code == 303  # the browser's session ended
    from idp.oauth.models import OAuthToken

    with app.app_context():
        assert all(row.revoked_at for row in OAuthToken.query.filter_by(user_id=uid))
    assert tokens["refresh_token"]
    r = app.test_client().post("/token", auth=(cid, secret), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert r.status_code == 400
    r = app.test_client().get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 401


# --- keys and audit ---------------------------------------------------------------------------

def test_keys_list_and_rotate(app):
    _auditor, token = client_token(app, "auditor")
    keys = Api(app, token).get("/keys").get_json()["keys"]
    assert {k["state"] for k in keys} == {"active", "next"}
    assert all("private" not in json.dumps(k) and "d" not in k for k in keys)
    assert Api(app, token).post("/keys/rotate").status_code == 403
    assert last_event(app, "admin.denied").detail["permission"] == "keys.write"
    root, root_token = client_token(app, "super_admin", name="Root robot")
    r = Api(app, root_token).post("/keys/rotate")
    assert r.status_code == 200
    assert {c["state"] for c in r.get_json()["changes"]} == {"retired", "active", "next"}
    event = last_event(app, "keys.rotated")
    assert (event.actor, event.role, event.target) == (f"client:{root}", "super_admin", "keys")
    assert set(event.detail) == {"before", "after"}
    assert Api(app, root_token).get("/me").status_code == 200  # still verifies after rotation


def test_audit_filter_page_and_export(app):
    robot, registrar = client_token(app, "client_registrar")
    for n in range(3):
        Api(app, registrar).post("/clients", json={**MACHINE, "client_name": f"c{n}"})
    auditor, token = client_token(app, "auditor", name="Auditor robot")
    api = Api(app, token)
    mine = {"action": "client.registered", "actor": f"client:{robot}"}
    r = api.get("/audit", query_string={**mine, "per_page": 2, "order": "asc"})
    assert r.status_code == 200
    page = r.get_json()
    assert [e["detail"]["after"]["client_name"] for e in page["events"]] == ["c0", "c1"]
    rest = api.get("/audit", query_string={**mine, "order": "asc",
                                           "after_id": page["next_after_id"]}).get_json()
    assert [e["detail"]["after"]["client_name"] for e in rest["events"]] == ["c2"]
    assert rest["next_after_id"] is None
    assert api.get("/audit", query_string={"role": "client_registrar",
                                           "since": "2000-01-01"}).get_json()["events"]
    r = api.get("/audit", query_string={"since": "yesterday"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"
    assert api.get("/audit", query_string={"per_page": "1001"}).status_code == 400

    r = api.get("/audit/export", query_string={"action": "client.", "actor": f"client:{robot}"})
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    assert "attachment" in r.headers["Content-Disposition"]
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    assert [e["action"] for e in lines] == ["client.registered"] * 3
    exported = last_event(app, "audit.exported")
    assert (exported.actor, exported.role) == (f"client:{auditor}", "auditor")
    assert exported.detail == {"filters": {"action": "client.", "actor": f"client:{robot}"}}
    assert Api(app, token).post("/clients", json=MACHINE).status_code == 403


# --- the role map -----------------------------------------------------------------------------

ENDPOINTS = [  # (method, path, permission)
    ("GET", "/clients", "clients.read"), ("POST", "/clients", "clients.write"),
    ("GET", "/initial-access-tokens", "iat.read"),
    ("POST", "/initial-access-tokens", "iat.write"),
    ("GET", "/users", "users.read"), ("POST", "/users/1/lock", "users.write"),
    ("GET", "/keys", "keys.read"), ("POST", "/keys/rotate", "keys.write"),
    ("GET", "/audit", "audit.read"),
]


@pytest.mark.parametrize("role", ["super_admin", "client_registrar", "user_admin", "auditor"])
def test_each_role_is_refused_what_it_may_not_do(app, role):
    _cid, token = client_token(app, role)
    api = Api(app, token)
    for method, path, permission in ENDPOINTS:
        r = api(method, path, json={})
        allowed = permission in roles.ROLE_PERMISSIONS[role]
        assert (r.status_code != 403) == allowed, (role, method, path, r.status_code)


def test_a_counter_clerk_has_no_admin_api(app):
    _uid, codes = make_staff(app, "13900139000", "counter_clerk")
    api = Api(app, user_token(app, "13900139000", codes))
    for method, path, _permission in ENDPOINTS:
        assert api(method, path, json={}).status_code == 403


# --- command line -----------------------------------------------------------------------------

def test_cli_client_roles_and_user_lock(app):
    runner = app.test_cli_runner()
    with app.app_context():
        f.user()
        cid, _secret = f.rp(name="Robot", redirect_uris=(), grant_types=["client_credentials"],
                            scope="admin")
    r = runner.invoke(args=["admins", "grant-client", "--client-id", cid, "--role", "auditor"])
    assert r.exit_code == 0 and "granted" in r.output, r.output
    r = runner.invoke(args=["admins", "grant-client", "--client-id", cid, "--role",
                            "counter_clerk"])
    assert r.exit_code != 0
    r = runner.invoke(args=["admins", "grant-client", "--client-id", "nope", "--role",
                            "auditor"])
    assert r.exit_code != 0 and "nope" in r.output
    listed = json.loads(runner.invoke(args=["admins", "list", "--json"]).output)
    assert {"client_id": cid, "role": "auditor"}.items() <= listed[0].items()
    r = runner.invoke(args=["admins", "revoke-client", "--client-id", cid, "--role", "auditor"])
    assert r.exit_code == 0 and "revoked" in r.output
    trail = events(app, target=f"client:{cid}")
    assert [e.action for e in trail][-2:] == ["client.role.granted", "client.role.revoked"]
    assert trail[-1].actor.startswith("cli:")

    r = runner.invoke(args=["users", "lock", "--phone", "13800138000", "--reason", "fraud"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        assert User.query.one().status == "disabled"
    r = runner.invoke(args=["users", "reset-factors", "--phone", "13800138000"])
    assert r.exit_code != 0 and "--yes" in r.output
    r = runner.invoke(args=["users", "reset-factors", "--phone", "13800138000", "--yes"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["users", "unlock", "--phone", "13800138000"])
    assert r.exit_code == 0
    assert last_event(app, "account.locked").actor.startswith("cli:")


def test_cli_staff_roles(app):
    runner = app.test_cli_runner()
    with app.app_context():
        user_id = f.user(phone="13900139000").id
    r = runner.invoke(args=["admins", "grant", "--phone", "139 0013 9000", "--role", "auditor"])
    assert r.exit_code == 0 and r.output == "+8613900139000: auditor granted\n", r.output
    r = runner.invoke(args=["admins", "grant", "--phone", "13900139000", "--role", "auditor"])
    assert r.output == "+8613900139000: auditor already held\n"
    with app.app_context():
        assert roles.roles_of(user_id) == {"auditor"}
    r = runner.invoke(args=["admins", "revoke", "--phone", "13900139000", "--role", "auditor"])
    assert r.exit_code == 0 and r.output == "+8613900139000: auditor revoked\n"
    r = runner.invoke(args=["admins", "revoke", "--phone", "13900139000", "--role", "auditor"])
    assert r.output == "+8613900139000: auditor was not held\n"
    assert [e.action for e in events(app, target=f"user:{user_id}")] == [
        "staff.role.granted", "staff.role.revoked"]
    r = runner.invoke(args=["admins", "grant", "--phone", "13700137000", "--role", "auditor"])
    assert r.exit_code == 1 and "no account has the number 13700137000" in r.output
    r = runner.invoke(args=["admins", "grant", "--phone", "12345", "--role", "auditor"])
    assert r.exit_code == 1 and "'12345' is not a valid phone number" in r.output
