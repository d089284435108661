"""The admin console (/admin) over HTTP: staff log in with two factors, every page and action
is checked against their roles on the server, every act answers with a redirect (a reload
repeats nothing), secrets are shown once, consequential acts ask first, forms need the CSRF
token, answers are not cached, and every act is audited with who, role, target and change."""

import json
import re

from freezegun import freeze_time
from joserfc.jwk import ECKey

from clients.models import Client
from clients.models import InitialAccessToken
from idp.accounts.models import User
from idp.admin.models import StaffRole
from idp.extensions import db
from tests import factories as f
from tests.integration.test_admin_api import events
from tests.integration.test_admin_api import last_event
from tests.integration.test_admin_api import log_in
from tests.integration.test_admin_api import make_staff
from tests.integration.test_mfa_login import submit

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")


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


def send(flow, page, action_part, **fields):
    """Post the form of ``page`` whose action contains ``action_part``, with its hidden fields
    (the CSRF token, the one-use token) and ``fields``; the answer itself, not followed."""
    for attributes, body in re.findall(r"<form ([^>]*)>(.*?)</form>", html(page), re.S):
        action = re.search(r'action="([^"]*)"', attributes).group(1)
        if action_part in action and 'method="post"' in attributes:
            hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                     body))
            return flow.post(action.replace("&amp;", "&"), data={**hidden, **fields})
    raise AssertionError(f"no form posting to {action_part}")


def token_ok(app, client_id, secret):
    r = app.test_client().post("/token", auth=(client_id, secret),
                               data={"grant_type": "client_credentials", "scope": "reports"})
    return r.status_code == 200


def count(app, model, **filters):
    with app.app_context():
        return model.query.filter_by(**filters).count()


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


def test_the_console_logs_out(app):
    uid, codes = make_staff(app, "13900139000", "auditor")
    flow, page = console(app, "13900139000", codes)
    r = send(flow, page, "/account/logout")
    assert r.status_code == 303 and r.headers["Location"].endswith("/account/logged-out")
    assert flow.follow(r).status_code == 200
    assert last_event(app, "logout").user_id == uid
    again = flow.get("/admin")
    assert again.status_code == 303 and "/interaction/" in again.headers["Location"]
    assert flow.post("/account/logout").status_code == 400  # no CSRF token, no logout


FORM = {"client_name": "公积金平台", "redirect_uris": "https://fund.gov.example/cb",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "client_credentials"],
        "scope": "openid profile reports", "subject_type": "pairwise", "min_loa": "1"}


def register(flow, **fields):
    """The registration form sent: the answer, not followed."""
    return send(flow, flow.get("/admin/clients/new"), "/admin/clients/new", **{**FORM, **fields})


def test_registering_answers_with_a_redirect_and_the_secret_is_shown_once(app):
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    form = flow.get("/admin/clients/new")
    sent = send(flow, form, "/admin/clients/new", **FORM)
    assert sent.status_code == 303 and "/admin/secrets/" in sent.headers["Location"]
    assert "secret=" not in sent.headers["Location"]
    shown = flow.get(sent.headers["Location"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    cid, secret = client_id_on(shown), secret_on(shown)
    assert token_ok(app, cid, secret)

    reload = flow.get(sent.headers["Location"])  # the browser reloads the result page
    assert reload.status_code == 410 and 'id="already-shown"' in html(reload)
    assert secret not in html(reload)
    again = send(flow, form, "/admin/clients/new", **FORM)  # the same form sent twice
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/clients")
    assert "这个表单已经提交过" in html(flow.follow(again))
    assert count(app, Client) == 1 and len(events(app, action="client.registered")) == 1

    other = f.Flow(app.test_client())  # another staff member never sees it
    _uid, other_codes = make_staff(app, "13700137000", "client_registrar")
    log_in(other, other.follow(other.get("/admin")), "13700137000", other_codes)
    sent = send(flow, flow.get("/admin/clients/new"), "/admin/clients/new", **FORM)
    assert other.get(sent.headers["Location"]).status_code == 410
    assert flow.get(sent.headers["Location"]).status_code == 410  # taken by that attempt


def test_a_registrar_rotates_suspends_edits_and_deletes_after_confirming(app):
    uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    shown = flow.follow(register(flow))
    cid, secret = client_id_on(shown), secret_on(shown)
    detail = flow.get(f"/admin/clients/{cid}")
    assert detail.status_code == 200 and secret not in html(detail)
    assert 'id="usage"' in html(detail)

    ask = flow.get(f"/admin/clients/{cid}/rotate-secret")
    assert ask.status_code == 200 and 'id="confirm-form"' in html(ask)
    unconfirmed = send(flow, ask, "/rotate-secret", confirm="")
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"].endswith(
        "/rotate-secret")
    assert not events(app, action="client.secret_rotated")
    rotated = send(flow, ask, "/rotate-secret", confirm="yes")
    assert rotated.status_code == 303
    new_secret = secret_on(flow.get(rotated.headers["Location"]))
    assert new_secret != secret and token_ok(app, cid, new_secret)
    assert token_ok(app, cid, secret)  # the old one works for a day
    assert flow.get(rotated.headers["Location"]).status_code == 410
    send(flow, ask, "/rotate-secret", confirm="yes")  # the confirmation sent again
    assert len(events(app, action="client.secret_rotated")) == 1
    assert token_ok(app, cid, secret) and token_ok(app, cid, new_secret)

    page = flow.get(f"/admin/clients/{cid}/suspend")
    assert 'id="reason"' in html(page)
    unconfirmed = send(flow, page, "/status", confirm="")
    assert unconfirmed.headers["Location"].endswith(f"/admin/clients/{cid}/suspend")
    assert token_ok(app, cid, new_secret)
    page = flow.follow(send(flow, page, "/status", confirm="yes", reason="contract ended"))
    assert "contract ended" in html(page) and 'id="client-state"' in html(page)
    assert "已暂停" in re.search(r'id="client-state">([^<]+)<', html(page)).group(1)
    assert not token_ok(app, cid, new_secret)
    page = flow.follow(flow.post(f"/admin/clients/{cid}/status", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1),
        "action": "approve"}))  # not pending: refused
    assert "contract ended" in html(page)
    page = flow.follow(send(flow, page, "/status", action="activate"))
    assert token_ok(app, cid, new_secret) and 'id="client-state"' not in html(page)

    edit = flow.get(f"/admin/clients/{cid}/edit")
    assert edit.status_code == 200 and "公积金平台" in html(edit)
    saved = send(flow, edit, "/edit", **{
        **FORM, "client_name": "公积金平台（新）",
        "redirect_uris": "https://fund.gov.example/cb\nhttps://fund.gov.example/cb2",
        "min_loa": "2", "require_mfa": "yes"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/clients/{cid}")
    assert "公积金平台（新）" in html(flow.follow(saved))
    bad = send(flow, edit, "/edit", **{**FORM, "client_name": "x",
                                       "redirect_uris": "http://bad/cb"})
    assert bad.status_code == 400 and 'id="error-redirect_uris"' in html(bad)
    assert "&#39;http://bad/cb&#39; must use https" in html(bad)
    assert "公积金平台（新）" in html(flow.get(f"/admin/clients/{cid}"))  # nothing changed

    pending = flow.follow(register(flow, client_name="待审平台", pending="yes"))
    pending_id = client_id_on(pending)
    page = flow.get(f"/admin/clients/{pending_id}")
    assert "待审核" in re.search(r'id="client-state">([^<]+)<', html(page)).group(1)
    page = flow.follow(send(flow, page, "/status", action="approve"))
    assert last_event(app, "client.approved").target == f"client:{pending_id}"
    assert 'id="client-state"' not in html(page)

    ask = flow.get(f"/admin/clients/{cid}/delete")
    unconfirmed = send(flow, ask, "/delete")
    assert unconfirmed.headers["Location"].endswith(f"/admin/clients/{cid}/delete")
    assert flow.get(f"/admin/clients/{cid}").status_code == 200  # not without confirming
    deleted = send(flow, ask, "/delete", confirm="yes")
    assert deleted.status_code == 303 and deleted.headers["Location"].endswith("/admin/clients")
    assert flow.get(f"/admin/clients/{cid}").status_code == 404
    assert send(flow, ask, "/delete", confirm="yes").status_code == 404  # sent again: gone

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


def public_jwks():
    key = ECKey.generate_key("P-256", parameters={"kid": "platform-1"})
    return {"keys": [key.as_dict(private=False)]}


def test_the_client_form_has_every_field_and_reports_each_problem_at_its_field(app):
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    form = flow.get("/admin/clients/new")
    for name in ("jwks", "jwks_uri", "allowed_claims", "access_token_ttl", "refresh_token_ttl",
                 "sector_identifier", "sector_identifier_uri", "id_token_signed_response_alg",
                 "post_logout_redirect_uris", "contacts", "logo_uri", "application_type"):
        assert f'name="{name}"' in html(form), name

    def refused(field, text, status=400, **fields):
        page = register(flow, **fields)
        assert page.status_code == status, html(page)[:300]
        assert 'id="client-error"' in html(page)
        if field:
            message = re.search(rf'id="error-{field}">([^<]+)<', html(page))
            assert message and text in message.group(1), html(page)[:2000]
        return page

    refused("redirect_uris", "must use https", redirect_uris="http://not-loopback.example/cb")
    refused(None, "", 403, scope="openid admin")  # a super administrator's to give
    refused("jwks", "private_key_jwt needs jwks or jwks_uri",
            token_endpoint_auth_method="private_key_jwt")
    refused("jwks", "这不是 JSON", token_endpoint_auth_method="private_key_jwt", jwks="{keys")
    refused("jwks", "这不是 JSON", token_endpoint_auth_method="private_key_jwt",
            jwks="[" * 5000 + "]" * 5000)  # deeper than the JSON parser goes
    refused("access_token_ttl", "请输入整数秒数", access_token_ttl="ten minutes")
    refused("refresh_token_ttl", "请输入整数秒数", refresh_token_ttl="³⁶⁰⁰")  # no number to int()
    refused("access_token_ttl", "from 60 to 86400", access_token_ttl="10")
    refused("post_logout_redirect_uris", "must use https",
            post_logout_redirect_uris="http://rp.example/bye")
    refused("allowed_claims", "claim names", allowed_claims="name <phone>")
    refused("sector_identifier", "host name", sector_identifier="not a host")
    refused("grant_types", "refresh_token goes with authorization_code",
            grant_types=["refresh_token", "client_credentials"])
    refused("contacts", "is not an email address", contacts="ops@fund.example\nnobody")
    assert count(app, Client) == 0 and not events(app, action="client.registered")

    done = register(flow, token_endpoint_auth_method="private_key_jwt",
                    jwks=json.dumps(public_jwks()), grant_types=["authorization_code"],
                    scope="openid profile",
                    post_logout_redirect_uris="https://fund.gov.example/bye",
                    allowed_claims="name phone_number", access_token_ttl="600",
                    refresh_token_ttl="86400", sector_identifier="fund.gov.example",
                    id_token_signed_response_alg="RS256", contacts="ops@fund.example",
                    enterprise_allowed="yes")
    assert done.status_code == 303 and "/admin/clients/" in done.headers["Location"]
    page = flow.follow(done)  # no secret for private_key_jwt: straight to the client
    assert "没有共享密钥" in html(page)
    with app.app_context():
        client = Client.query.one()
        assert client.token_endpoint_auth_method == "private_key_jwt"
        assert client.jwks["keys"][0]["kid"] == "platform-1"
        assert client.allowed_claims == ["name", "phone_number"]
        assert (client.access_token_ttl, client.refresh_token_ttl) == (600, 86400)
        assert client.sector_identifier == "fund.gov.example"
        assert client.id_token_signed_response_alg == "RS256"
        assert client.post_logout_redirect_uris == ["https://fund.gov.example/bye"]
        assert client.contacts == ["ops@fund.example"] and client.enterprise_allowed
        cid = client.client_id
    edit = flow.get(f"/admin/clients/{cid}/edit")
    assert "platform-1" in html(edit) and 'id="sector"' in html(edit)
    saved = send(flow, edit, "/edit", **{
        **FORM, "token_endpoint_auth_method": "private_key_jwt", "jwks": "",
        "jwks_uri": "https://fund.gov.example/jwks.json", "grant_types": ["authorization_code"],
        "scope": "openid profile", "allowed_claims": "*", "access_token_ttl": ""})
    assert saved.status_code == 303, html(saved)[:1500]
    with app.app_context():
        client = Client.query.one()
        assert client.jwks is None and client.jwks_uri == "https://fund.gov.example/jwks.json"
        assert client.allowed_claims is None and client.access_token_ttl is None
        assert client.sector_identifier == "fund.gov.example"


def test_initial_access_tokens_in_the_console(app):
    uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    listing = flow.get("/admin/initial-access-tokens")
    unknown = send(flow, listing, "/issue", label="社保局", expires_days="3", max_uses="2",
                   scopes="openid wizardry")
    assert unknown.status_code == 400
    assert "unknown scope(s): wizardry" in re.search(r'id="error-scopes">([^<]+)<',
                                                     html(unknown)).group(1)
    assert 'value="社保局"' in html(unknown)  # what was typed stays
    assert count(app, InitialAccessToken) == 0
    issued = send(flow, listing, "/issue", label="社保局", expires_days="3", max_uses="2",
                  scopes="openid profile")
    assert issued.status_code == 303 and "/admin/secrets/" in issued.headers["Location"]
    token = secret_on(flow.get(issued.headers["Location"]))
    assert flow.get(issued.headers["Location"]).status_code == 410
    assert send(flow, listing, "/issue", label="社保局", expires_days="3").status_code == 303
    assert count(app, InitialAccessToken) == 1
    listing = flow.get("/admin/initial-access-tokens")
    assert "社保局" in html(listing) and token not in html(listing)
    assert ">职员 (+86139****9000)</a>" in html(listing)  # issued by, by name
    flow.follow(send(flow, listing, "/revoke"))
    event = last_event(app, "client.iat_revoked")
    assert (event.actor, event.role) == (f"user:{uid}", "client_registrar")


def test_every_page_and_action_checks_the_role(app):
    uid, codes = make_staff(app, "13900139000", "auditor")
    flow, page = console(app, "13900139000", codes)
    for path in ("/admin/clients", "/admin/users", "/admin/keys", "/admin/audit",
                 "/admin/initial-access-tokens", "/admin/staff"):
        assert flow.get(path).status_code == 200, path
    for path in ("/admin/clients/new", "/admin/keys/rotate", "/admin/users/1/lock"):
        assert flow.get(path).status_code == 403, path
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      html(flow.get("/account"))).group(1)
    for path in ("/admin/clients/new", "/admin/keys/rotate", "/admin/users/1/lock",
                 "/admin/initial-access-tokens/issue", "/admin/staff/grant"):
        r = flow.post(path, data={"csrf_token": token, "client_name": "x", "label": "x",
                                  "confirm": "yes", "phone": "13900139000",
                                  "role": "super_admin"})
        assert r.status_code == 403, path
    denied = events(app, action="admin.denied")
    assert len(denied) == 5 and all(e.actor == f"user:{uid}" and e.outcome == "failure"
                                    for e in denied)
    assert {e.detail["permission"] for e in denied} == {"clients.write", "keys.write",
                                                        "users.write", "iat.write",
                                                        "staff.write"}
    assert count(app, StaffRole, user_id=uid) == 1

    _uid, codes = make_staff(app, "13700137000", "user_admin")
    flow, _page = console(app, "13700137000", codes)
    for path in ("/admin/clients", "/admin/keys", "/admin/audit", "/admin/audit/export"):
        assert flow.get(path).status_code == 403, path
    assert flow.get("/admin/users").status_code == 200


def test_forms_need_the_csrf_token(app):
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    flow, _page = console(app, "13900139000", codes)
    assert flow.post("/admin/keys/rotate", data={"confirm": "yes"}).status_code == 400
    assert not events(app, action="keys.rotated")


def test_an_account_administrator_finds_locks_unlocks_and_resets(app):
    from idp.accounts.service import authenticate
    from idp.realname import service as realname

    cid, _citizen_codes = make_staff(app, "13800138000")  # a citizen with an authenticator app
    with app.app_context():
        realname.declare(db.session.get(User, cid), "resident_id", "张三",
                         "11010519491231002X", actor="test")
    citizen = f.Flow(app.test_client())  # signed in from Chrome on Windows
    citizen.http.environ_base["HTTP_USER_AGENT"] = CHROME
    log_in(citizen, citizen.follow(citizen.get("/account")), "13800138000", _citizen_codes)
    admin_id, codes = make_staff(app, "13900139000", "user_admin")
    flow, _page = console(app, "13900139000", codes)

    found = flow.get("/admin/users?q=138 0013 8000")
    assert f"/admin/users/{cid}" in html(found) and "/admin/users/" + str(admin_id) not in html(
        found)
    page = flow.get(f"/admin/users/{cid}")
    assert "11010519491231002X" not in html(page)
    identity = re.search(r'id="identity">([^<]+)<', html(page)).group(1)
    assert "*" in identity and "张三" not in identity
    sessions = re.search(r'<ul id="sessions">(.*?)</ul>', html(page), re.S).group(1)
    assert "Windows 10 上的 Chrome 131</span>, 127.0.0.1, 最近活动" in sessions

    ask = flow.get(f"/admin/users/{cid}/lock")
    assert ask.status_code == 200 and 'id="reason"' in html(ask)
    unconfirmed = send(flow, ask, "/lock", reason="reported stolen")
    assert unconfirmed.headers["Location"].endswith(f"/admin/users/{cid}/lock")
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).user is not None
    locked = send(flow, ask, "/lock", confirm="yes", reason="reported stolen")
    assert locked.status_code == 303 and locked.headers["Location"].endswith(f"/users/{cid}")
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).problem == "disabled"
    send(flow, ask, "/lock", confirm="yes", reason="again")  # sent again: nothing more
    page = flow.get(f"/admin/users/{cid}")
    unlocked = send(flow, page, "/unlock")
    assert unlocked.status_code == 303
    with app.test_request_context():
        assert authenticate("13800138000", f.PASSWORD).user is not None
    send(flow, page, "/unlock")  # sent again: nothing more
    page = flow.follow(send(flow, page, "/reset-factors"))  # without the tick nothing happens
    assert not events(app, action="mfa.factors.reset")
    page = flow.follow(send(flow, page, "/reset-factors", confirm="yes"))
    assert 'id="factors"' in html(page)
    assert 'id="events"' in html(page)

    trail = [e for e in events(app, target=f"user:{cid}") if e.actor == f"user:{admin_id}"]
    assert [e.action for e in trail] == ["account.locked", "account.unlocked",
                                        "mfa.factors.reset"]
    for event in trail:
        assert (event.actor, event.role) == (f"user:{admin_id}", "user_admin")
        assert event.user_id == cid and {"before", "after"} <= set(event.detail)
    assert trail[0].detail["after"]["lock_reason"] == "reported stolen"
    assert ">职员 (+86139****9000)</a>, 账户管理员" in html(page)  # who locked it, by name and role

    own = flow.follow(send(flow, flow.get(f"/admin/users/{admin_id}/lock"), "/lock",
                           confirm="yes"))
    with app.app_context():
        assert db.session.get(User, admin_id).status == "active"  # nobody locks themselves
    assert own.status_code == 200


def test_keys_rotate_once_after_confirming(app):
    uid, codes = make_staff(app, "13900139000", "super_admin")
    flow, _page = console(app, "13900139000", codes)
    page = flow.get("/admin/keys")
    assert html(page).count("<code>") == 4  # ES256 and RS256, active and next
    ask = flow.get("/admin/keys/rotate")
    assert send(flow, ask, "/admin/keys/rotate").headers["Location"].endswith("/keys/rotate")
    assert html(flow.get("/admin/keys")).count("<code>") == 4
    rotated = send(flow, ask, "/admin/keys/rotate", confirm="yes")
    assert rotated.status_code == 303 and rotated.headers["Location"].endswith("/admin/keys")
    assert html(flow.follow(rotated)).count("<code>") == 6
    send(flow, ask, "/admin/keys/rotate", confirm="yes")  # the confirmation sent again
    assert html(flow.get("/admin/keys")).count("<code>") == 6
    event = last_event(app, "keys.rotated")
    assert (event.actor, event.role, event.target) == (f"user:{uid}", "super_admin", "keys")
    assert len(events(app, action="keys.rotated")) == 1


def test_the_audit_log_reads_as_names_changes_and_local_times(app):
    uid, codes = make_staff(app, "13900139000", "super_admin", name="李四")
    flow, _page = console(app, "13900139000", codes)
    with freeze_time("2026-11-30 01:00:00"):  # 09:00 in Beijing
        shown = flow.follow(register(flow, client_name="税务平台"))
    cid = client_id_on(shown)
    with app.app_context():
        f.user(phone="13500135000", name=None)
        from idp.accounts.service import authenticate
        with app.test_request_context():
            authenticate("13500135000", "wrong password")  # a failure on record

    page = flow.get("/admin/audit")
    assert page.status_code == 200
    row = re.search(r'<tr id="event-\d+">(?:(?!</tr>\s*<tr id).)*?客户端已登记.*?</details>',
                    html(page), re.S).group(0)
    assert ">李四 (+86139****9000)</a>, 超级管理员" in row
    assert f'href="/admin/clients/{cid}">税务平台</a>' in row
    assert "<details>" in row and "<details open" not in row
    assert '<time datetime="2026-11-30T01:00:00Z">' in row
    assert "client_name" in row and '"before"' not in row and "{&#34;" not in row
    assert re.search(r'<tr class="changed"><td>client_name</td>\s*<td>—</td>\s*<td>税务平台</td>',
                     row)

    outcome = re.search(r'<select id="f-outcome" name="outcome">(.*?)</select>', html(page),
                        re.S).group(1)
    assert '<option value="failure">失败</option>' in outcome
    role = re.search(r'<select id="f-role" name="role">(.*?)</select>', html(page),
                     re.S).group(1)
    assert '<option value="super_admin">超级管理员</option>' in role
    assert '<option value="client.registered">客户端已登记</option>' in html(page)
    assert 'src="/static/localtime.js"' in html(page)

    def table(path, **query):
        page = html(flow.get(path, query_string=query))
        return re.search(r'<table id="audit">(.*)</table>', page, re.S).group(1)

    failures = table("/admin/audit", outcome="failure")
    assert "login.failure" in failures and "client.registered" not in failures
    mine = table("/admin/audit", role="super_admin", actor="139 0013 9000")
    assert "client.registered" in mine and "login.failure" not in mine
    assert "client.registered" not in table("/admin/audit", target="13500135000")

    def listed(**query):
        return "client.registered" in table("/admin/audit", action="client.", **query)

    assert listed(since="2026-11-30T08:30", tz="Asia/Shanghai")
    assert not listed(since="2026-11-30T09:30", tz="Asia/Shanghai")
    assert listed(since="2026-11-30T09:30", tz="Asia/Tokyo")  # 08:30 in Beijing
    assert not listed(since="2026-11-30T01:30", tz="UTC")
    assert listed(since="2026-11-30T08:30")  # no zone sent: the provider's (Beijing)
    assert listed(until="2026-11-30T09:00:01", tz="Asia/Shanghai")
    assert not listed(until="2026-11-30T09:00", tz="Asia/Shanghai")
    assert listed(since="2026-11-30T08:30", tz="Mars/Olympus")  # unknown zone: the default

    bad = flow.get("/admin/audit?since=yesterday")
    assert bad.status_code == 400 and 'id="audit-error"' in html(bad)
    export = flow.get("/admin/audit/export?action=client.&since=2026-11-30T08:30"
                      "&tz=Asia/Shanghai")
    assert export.mimetype == "application/x-ndjson"
    assert "attachment" in export.headers["Content-Disposition"]
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    assert [e["action"] for e in lines] == ["client.registered"]
    exported = last_event(app, "audit.exported")
    assert (exported.actor, exported.role) == (f"user:{uid}", "super_admin")
    assert exported.detail["filters"]["since"] == "2026-11-30T08:30:00+08:00"


def test_staff_roles_page_grants_and_revokes(app):
    uid, codes = make_staff(app, "13900139000", "super_admin")
    other_id, _codes = make_staff(app, "13700137000", "auditor", name="王五")
    flow, _page = console(app, "13900139000", codes)
    page = flow.get("/admin/staff")
    assert page.status_code == 200 and "王五" in html(page) and "审计员" in html(page)
    granted = send(flow, page, "/admin/staff/grant", phone="137 0013 7000",
                   role="client_registrar")
    assert granted.status_code == 303 and granted.headers["Location"].endswith("/admin/staff")
    send(flow, page, "/admin/staff/grant", phone="137 0013 7000", role="client_registrar")
    assert count(app, StaffRole, user_id=other_id) == 2
    event = last_event(app, "staff.role.granted")
    assert (event.actor, event.role, event.target) == (f"user:{uid}", "super_admin",
                                                       f"user:{other_id}")
    assert event.detail == {"after": {"role": "client_registrar"}}
    assert len(events(app, action="staff.role.granted", actor=f"user:{uid}")) == 1

    unknown = flow.follow(send(flow, page, "/admin/staff/grant", phone="13600136000",
                               role="auditor"))
    assert "no account has this mobile number" in html(unknown)
    page = flow.get("/admin/staff")
    revoked = flow.post(f"/admin/staff/{other_id}/revoke", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1),
        "role": "auditor"})
    assert revoked.status_code == 303
    assert count(app, StaffRole, user_id=other_id) == 1
    assert last_event(app, "staff.role.revoked").role == "super_admin"
    own = flow.follow(flow.post(f"/admin/staff/{uid}/revoke", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1),
        "role": "super_admin"}))
    assert "you cannot take away your own super administrator role" in html(own)
    assert count(app, StaffRole, user_id=uid) == 1


def test_the_clients_table_names_platforms(app):
    _uid, codes = make_staff(app, "13900139000", "auditor")
    flow, _page = console(app, "13900139000", codes)
    page = html(flow.get("/admin/clients"))
    assert "<th>平台名称</th>" in page and "姓名" not in page
    assert "<th>Platform name</th>" in html(flow.get("/admin/clients?lang=en"))


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
    assert flow.get(f"/admin/secrets/{'x' * 200}").status_code == 410
    assert flow.get(f"/admin/audit?actor=user:{huge}").status_code == 200
