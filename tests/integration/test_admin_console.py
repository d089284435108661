"""The admin console (/admin) over HTTP: staff log in with two factors, every page and action
is checked against their roles on the server, secrets are shown once, forms need the CSRF
token, answers are not cached, and every act is audited with who, role, target and change."""

import json
import re

from idp.accounts.models import User
from idp.extensions import db
from tests import factories as f
from tests.integration.test_admin_api import events
from tests.integration.test_admin_api import last_event
from tests.integration.test_admin_api import log_in
from tests.integration.test_admin_api import make_staff
from tests.integration.test_mfa_login import submit


def console(app, phone, codes, path="/admin"):
    """A browser that asked for ``path``, logged in and came back to it."""
    flow = f.Flow(app.test_client())
    page = flow.get(path)
    assert page.status_code == 303 and "/interaction/" in page.headers["Location"]
    page = log_in(flow, flow.follow(page), phone, codes)
    return flow, page


def html(page):
    return page.get_data(as_text=True)


def secret_on(page):
    return re.search(r'id="secret">([^<]+)<', html(page)).group(1)


def client_id_on(page):
    return re.search(r'id="client-id">([^<]+)<', html(page)).group(1)


def token_ok(app, client_id, secret):
    r = app.test_client().post("/token", auth=(client_id, secret),
                               data={"grant_type": "client_credentials", "scope": "reports"})
    return r.status_code == 200


def test_the_console_sends_staff_through_the_login_and_back(app):
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, page = console(app, "13900139000", codes, "/admin/clients?q=x")
    assert page.status_code == 200 and 'id="register-client"' in html(page)
    assert page.headers["Cache-Control"] == "no-store"
    home = flow.get("/admin")
    assert home.status_code == 200 and home.headers["Cache-Control"] == "no-store"
    assert "/admin/clients" in html(home) and "/admin/users" not in html(home)


def test_staff_without_a_second_factor_are_told_to_use_one(app):
    make_staff(app, "13900139000", "super_admin", second_factor=False)
    flow, page = console(app, "13900139000", None)
    assert page.status_code == 403 and 'id="admin-refused"' in html(page)
    assert "/admin/login-again" in html(page)
    assert flow.get("/admin/clients").status_code == 403
    assert flow.get("/admin/keys").status_code == 403
    again = submit(flow, page, "/admin/login-again")
    assert 'autocomplete="current-password"' in html(again)  # logged out, at the login page
    assert flow.get("/account").status_code == 303


def test_citizens_and_counter_clerks_have_no_console(app):
    with app.app_context():
        f.user()
    flow, page = console(app, "13800138000", None)
    assert page.status_code == 403 and 'id="admin-refused"' in html(page)
    _uid, codes = make_staff(app, "13700137000", "counter_clerk")
    _flow, page = console(app, "13700137000", codes)
    assert page.status_code == 403


def register(flow, **fields):
    page = flow.get("/admin/clients/new")
    form = {"client_name": "公积金平台", "redirect_uris": "https://fund.gov.example/cb",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "client_credentials"],
            "scope": "openid profile reports", "subject_type": "pairwise", "min_loa": "1",
            **fields}
    return submit(flow, page, "/admin/clients/new", **form)


def test_a_registrar_registers_rotates_suspends_edits_and_deletes(app):
    uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)

    page = register(flow)
    assert page.status_code == 200, html(page)[:500]
    cid, secret = client_id_on(page), secret_on(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert token_ok(app, cid, secret)
    detail = flow.get(f"/admin/clients/{cid}")
    assert detail.status_code == 200 and secret not in html(detail)  # shown once, never again
    assert 'id="usage"' in html(detail)

    page = submit(flow, detail, "/rotate-secret")
    new_secret = secret_on(page)
    assert new_secret != secret and token_ok(app, cid, new_secret)
    assert token_ok(app, cid, secret)  # the old one works for a day
    assert new_secret not in html(flow.get(f"/admin/clients/{cid}"))

    page = submit(flow, flow.get(f"/admin/clients/{cid}"), "/status", action="suspend",
                  reason="contract ended")
    assert 'id="client-status"' in html(page) and "contract ended" in html(page)
    assert not token_ok(app, cid, new_secret)
    page = submit(flow, page, "/status", action="approve")  # not pending: refused
    assert "contract ended" in html(page)
    page = submit(flow, page, "/status", action="activate")
    assert token_ok(app, cid, new_secret)

    page = submit(flow, page, "/edit", client_name="公积金平台（新）",
                  redirect_uris="https://fund.gov.example/cb\nhttps://fund.gov.example/cb2",
                  scope="openid profile reports", min_loa="2", require_mfa="yes")
    assert "公积金平台（新）" in html(page)
    page = submit(flow, page, "/edit", client_name="x", redirect_uris="http://bad/cb",
                  scope="openid", min_loa="1")
    assert "公积金平台（新）" in html(page)  # refused, nothing changed

    pending = register(flow, client_name="待审平台", pending="yes")
    pending_id = client_id_on(pending)
    page = submit(flow, flow.get(f"/admin/clients/{pending_id}"), "/status", action="approve")
    assert last_event(app, "client.approved").target == f"client:{pending_id}"

    page = submit(flow, flow.get(f"/admin/clients/{cid}"), "/delete")
    assert flow.get(f"/admin/clients/{cid}").status_code == 200  # not without the tick
    submit(flow, page, "/delete", confirm="yes")
    assert flow.get(f"/admin/clients/{cid}").status_code == 404

    trail = events(app, target=f"client:{cid}")
    assert [e.action for e in trail] == [
        "client.registered", "client.secret_rotated", "client.suspended", "client.activated",
        "client.updated", "client.deleted"]
    for event in trail:
        assert (event.actor, event.role) == (f"user:{uid}", "client_registrar")
        assert {"before", "after"} <= set(event.detail)
        assert secret not in json.dumps(event.detail)
        assert new_secret not in json.dumps(event.detail)
    assert trail[4].detail["after"]["min_loa"] == 2


def test_the_registration_form_reports_bad_input(app):
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    page = register(flow, redirect_uris="http://not-loopback.example/cb")
    assert page.status_code == 400 and 'id="client-error"' in html(page)
    page = register(flow, scope="openid admin")
    assert page.status_code == 403  # the admin scope is a super administrator's to give


def test_initial_access_tokens_in_the_console(app):
    uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    page = submit(flow, flow.get("/admin/initial-access-tokens"), "/issue", label="社保局",
                  expires_days="3", max_uses="2")
    token = secret_on(page)
    listing = flow.get("/admin/initial-access-tokens")
    assert "社保局" in html(listing) and token not in html(listing)
    submit(flow, listing, "/revoke")
    event = last_event(app, "client.iat_revoked")
    assert (event.actor, event.role) == (f"user:{uid}", "client_registrar")


def test_every_page_and_action_checks_the_role(app):
    uid, codes = make_staff(app, "13900139000", "auditor")
    flow, page = console(app, "13900139000", codes)
    for path in ("/admin/clients", "/admin/users", "/admin/keys", "/admin/audit",
                 "/admin/initial-access-tokens"):
        assert flow.get(path).status_code == 200, path
    assert flow.get("/admin/clients/new").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      html(flow.get("/account"))).group(1)
    for path in ("/admin/clients/new", "/admin/keys/rotate", "/admin/users/1/lock",
                 "/admin/initial-access-tokens/issue"):
        r = flow.post(path, data={"csrf_token": token, "client_name": "x", "label": "x"})
        assert r.status_code == 403, path
    denied = events(app, action="admin.denied")
    assert len(denied) == 4 and all(e.actor == f"user:{uid}" and e.outcome == "failure"
                                    for e in denied)
    assert {e.detail["permission"] for e in denied} == {"clients.write", "keys.write",
                                                        "users.write", "iat.write"}

    _uid, codes = make_staff(app, "13700137000", "user_admin")
    flow, _page = console(app, "13700137000", codes)
    for path in ("/admin/clients", "/admin/keys", "/admin/audit", "/admin/audit/export"):
        assert flow.get(path).status_code == 403, path
    assert flow.get("/admin/users").status_code == 200


def test_forms_need_the_csrf_token(app):
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    flow, _page = console(app, "13900139000", codes)
    assert flow.post("/admin/keys/rotate").status_code == 400
    assert not events(app, action="keys.rotated")


def test_an_account_administrator_finds_locks_unlocks_and_resets(app):
    from idp.accounts.service import authenticate
    from idp.realname import service as realname

    cid, citizen_codes = make_staff(app, "13800138000")  # a citizen with an authenticator app
    with app.app_context():
        realname.declare(db.session.get(User, cid), "resident_id", "张三",
                         "11010519491231002X", actor="test")
    admin_id, codes = make_staff(app, "13900139000", "user_admin")
    flow, _page = console(app, "13900139000", codes)

    found = flow.get("/admin/users?q=138 0013 8000")
    assert f"/admin/users/{cid}" in html(found) and "/admin/users/" + str(admin_id) not in html(
        found)
    page = flow.get(f"/admin/users/{cid}")
    assert "11010519491231002X" not in html(page)
    identity = re.search(r'id="identity">([^<]+)<', html(page)).group(1)
    assert "*" in identity and "张三" not in identity

    page = submit(flow, page, "/lock", reason="reported stolen")
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).problem == "disabled"
    page = submit(flow, page, "/unlock")
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).user is not None
    page = submit(flow, page, "/reset-factors")  # without the tick nothing happens
    assert not events(app, action="mfa.factors.reset")
    page = submit(flow, page, "/reset-factors", confirm="yes")
    assert 'id="factors"' in html(page)
    assert 'id="events"' in html(page)

    trail = [e for e in events(app, target=f"user:{cid}") if e.actor == f"user:{admin_id}"]
    assert [e.action for e in trail] == ["account.locked", "account.unlocked",
                                        "mfa.factors.reset"]
    for event in trail:
        assert (event.actor, event.role) == (f"user:{admin_id}", "user_admin")
        assert event.user_id == cid and {"before", "after"} <= set(event.detail)
    assert trail[0].detail["after"]["lock_reason"] == "reported stolen"

    own = submit(flow, flow.get(f"/admin/users/{admin_id}"), "/lock")
    with app.app_context():
        assert db.session.get(User, admin_id).status == "active"  # nobody locks themselves
    assert own.status_code == 200


def test_keys_and_the_audit_log(app):
    uid, codes = make_staff(app, "13900139000", "super_admin")
    flow, _page = console(app, "13900139000", codes)
    page = flow.get("/admin/keys")
    assert html(page).count("<code>") == 4  # ES256 and RS256, active and next
    page = submit(flow, page, "/admin/keys/rotate")
    assert html(page).count("<code>") == 6
    event = last_event(app, "keys.rotated")
    assert (event.actor, event.role, event.target) == (f"user:{uid}", "super_admin", "keys")

    page = flow.get("/admin/audit?action=keys.")
    assert page.status_code == 200 and "keys.rotated" in html(page)
    assert "login.success" not in html(page)
    bad = flow.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and 'id="audit-error"' in html(bad)
    export = flow.get("/admin/audit/export?action=keys.")
    assert export.mimetype == "application/x-ndjson"
    assert "attachment" in export.headers["Content-Disposition"]
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    assert [e["action"] for e in lines] == ["keys.rotated"]
    exported = last_event(app, "audit.exported")
    assert (exported.actor, exported.role) == (f"user:{uid}", "super_admin")


def test_out_of_range_numbers_are_refused_not_a_server_error(app):
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    flow, _page = console(app, "13900139000", codes)
    huge = "9" * 23
    for path in (f"/admin/audit?after_id={huge}", f"/admin/audit?user_id={huge}"):
        assert flow.get(path).status_code == 400, path
    export = flow.get(f"/admin/audit/export?user_id={huge}")
    assert export.status_code == 303 and "/admin/audit" in export.headers["Location"]
    page = flow.get("/admin/initial-access-tokens")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1)
    r = flow.post(f"/admin/initial-access-tokens/{huge}/revoke", data={"csrf_token": token})
    assert r.status_code == 404  # an id beyond the database's matches no route
