"""The citizen's own pages: login to /account, password, factors, sessions, platforms."""

import re

import pyotp
import pytest
from freezegun import freeze_time

from idp.accounts.models import User
from mfa.models import Factor
from tests import factories as f
from tests.integration.test_sso import tokens_for


@pytest.fixture
def citizen(app):
    with app.app_context():
        f.user()
        return f.rp()


def sign_in(flow, password=f.PASSWORD):
    page = flow.follow(flow.get("/account"))
    assert 'autocomplete="current-password"' in page.get_data(as_text=True)
    page = flow.login(page, password=password)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return page


def post_form(flow, page, action, **fields):
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return flow.follow(flow.post(action, data={"csrf_token": token, **fields}))


def test_account_pages_need_a_login_and_come_back(citizen, client):
    flow = f.Flow(client)
    page = sign_in(flow)
    html = page.get_data(as_text=True)
    assert "张三" in html and "+86138****8000" in html
    assert "登录成功" in html  # the login event is listed


def test_change_password_needs_the_current_one_and_signs_out_elsewhere(app, citizen, client):
    other = f.Flow(app.test_client())
    tokens_for(other, other.http, citizen)  # another device with an SSO session
    flow = f.Flow(client)
    page = sign_in(flow)
    page = flow.follow(flow.get("/account/password"))
    bad = post_form(flow, page, "/account/password", current="wrong", new="N3w-Passw0rd!x",
                    confirm="N3w-Passw0rd!x")
    assert bad.status_code == 400
    weak = post_form(flow, page, "/account/password", current=f.PASSWORD, new="password123",
                     confirm="password123")
    assert weak.status_code == 400
    done = post_form(flow, page, "/account/password", current=f.PASSWORD,
                     new="N3w-Passw0rd!x", confirm="N3w-Passw0rd!x")
    assert done.status_code == 200 and "/account" in done.request.path
    r = other.http.get("/authorize", query_string=f.authorize_params(
        citizen[0], f.pkce()[1], prompt="none"))
    assert f.query(r.headers["Location"])["error"] == "login_required"
    with app.app_context():
        from idp.accounts.service import authenticate

        with app.test_request_context():
            assert authenticate("13800138000", "N3w-Passw0rd!x").user is not None


def test_credential_changes_need_a_recent_login(citizen, client):
    flow = f.Flow(client)
    with freeze_time() as frozen:
        sign_in(flow)
        frozen.tick(11 * 60)
        r = flow.get("/account/password")
        assert r.status_code == 303 and r.headers["Location"].startswith("/interaction/")


def test_enrol_totp_then_logins_ask_for_it(app, citizen, client):
    flow = f.Flow(client)
    with freeze_time("2026-12-01 07:00:00"):
        sign_in(flow)
        page = flow.get("/account/totp")
        html = page.get_data(as_text=True)
        assert "<svg" in html and 'autocomplete="one-time-code"' in html
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
        wrong = post_form(flow, page, "/account/totp", code="000000",
                          factor_id=re.search(r'name="factor_id" value="(\d+)"', html).group(1))
        assert wrong.status_code == 400
        ok = post_form(flow, page, "/account/totp", code=pyotp.TOTP(secret).now(),
                       factor_id=re.search(r'name="factor_id" value="(\d+)"', html).group(1))
        assert ok.status_code == 200
    with app.app_context():
        assert Factor.query.filter_by(confirmed=True).count() == 1
    fresh = f.Flow(app.test_client())
    page = fresh.login(fresh.follow(fresh.start(f.authorize_params(citizen[0], f.pkce()[1]))))
    assert "/mfa/totp" in page.get_data(as_text=True)


def test_removing_the_last_factor_warns(app, citizen, client):
    with app.app_context():
        user = User.query.one()
        from mfa import totp

        with freeze_time("2026-12-01 07:00:00"):
            factor, _u, _s, secret = totp.begin_enrolment(user, "手机")
            assert totp.confirm(factor, pyotp.TOTP(secret.replace(" ", "")).now())
        factor_id = factor.id
    flow = f.Flow(client)
    with freeze_time("2026-12-01 08:00:00"):
        page = flow.login(flow.follow(flow.get("/account")))
        page = f.Flow.follow(flow, flow.post(
            re.search(r'action="([^"]*/mfa/totp)"', page.get_data(as_text=True)).group(1),
            data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                          page.get_data(as_text=True)).group(1),
                  "code": pyotp.TOTP(secret.replace(" ", "")).now()}))
        warn = post_form(flow, page, f"/account/factors/{factor_id}/delete")
        assert warn.status_code == 200 and 'value="yes"' in warn.get_data(as_text=True)
        gone = post_form(flow, warn, f"/account/factors/{factor_id}/delete", confirm="yes")
        assert gone.status_code == 200
    with app.app_context():
        assert Factor.query.count() == 0


def test_recovery_codes_are_shown_once(app, citizen, client):
    flow = f.Flow(client)
    page = sign_in(flow)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    made = flow.post("/account/recovery-codes", data={"csrf_token": token})
    assert made.status_code == 303 and "/account/recovery-codes/" in made.headers["Location"]
    r = flow.get(made.headers["Location"])
    codes = re.findall(r"<li><code>([^<]+)</code></li>", r.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert r.headers["Cache-Control"] == "no-store"
    again = flow.get(made.headers["Location"])  # a reload shows nothing and makes nothing
    assert again.status_code == 410 and 'id="already-shown"' in again.get_data(as_text=True)
    assert codes[0] not in again.get_data(as_text=True)
    with app.app_context():
        from idp.audit.models import AuditEvent
        from mfa.models import RecoveryCode

        assert AuditEvent.query.filter_by(action="mfa.recovery_codes.generated").count() == 1
        assert RecoveryCode.query.count() == 10
    other = f.Flow(app.test_client())  # the same citizen in another browser
    sign_in(other)
    made = flow.post("/account/recovery-codes", data={"csrf_token": token})
    assert other.get(made.headers["Location"]).status_code == 410  # never to another session
    assert flow.get(made.headers["Location"]).status_code == 410  # and that try spent it


def test_sessions_read_as_browser_system_address_and_time(app, citizen):
    chrome = f.Flow(app.test_client())
    chrome.http.environ_base["HTTP_USER_AGENT"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
    chrome.http.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    sign_in(chrome)
    flow = f.Flow(app.test_client())
    flow.http.environ_base["HTTP_USER_AGENT"] = "curl/8.5.0"
    page = sign_in(flow).get_data(as_text=True)
    listed = re.findall(r'<li class="session"><span title="[^"]*">([^<]+)</span>, ([^,]+), ',
                        page)
    assert ("未知系统 上的 curl 8", "127.0.0.1") in listed
    assert ("iOS 17 (iPhone) 上的 Mobile Safari 17", "203.0.113.9") in listed
    english = flow.get("/account?lang=en").get_data(as_text=True)
    assert "Mobile Safari 17 on iOS 17 (iPhone)</span>, 203.0.113.9, last active" in english


def test_logging_out_answers_with_a_redirect(app, citizen, client):
    flow = f.Flow(client)
    page = sign_in(flow)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = flow.post("/account/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/account/logged-out")
    assert flow.get("/account/logged-out").status_code == 200
    assert flow.get("/account").status_code == 303


def test_sign_out_other_sessions(app, citizen, client):
    other = f.Flow(app.test_client())
    tokens_for(other, other.http, citizen)
    flow = f.Flow(client)
    page = sign_in(flow)
    assert page.get_data(as_text=True).count("/account/sessions/") >= 3  # two + "others"
    post_form(flow, page, "/account/sessions/end-others")
    r = other.http.get("/authorize", query_string=f.authorize_params(
        citizen[0], f.pkce()[1], prompt="none"))
    assert f.query(r.headers["Location"])["error"] == "login_required"
    assert flow.get("/account").status_code == 200  # this browser stays


def test_withdrawing_a_platform_revokes_its_tokens(app, citizen, client):
    flow = f.Flow(client)
    issued = tokens_for(flow, client, citizen)
    page = flow.follow(flow.get("/account"))
    assert "Platform A" in page.get_data(as_text=True)
    post_form(flow, page, f"/account/platforms/{citizen[0]}/revoke")
    r = client.post("/token", auth=citizen, data={"grant_type": "refresh_token",
                                                  "refresh_token": issued["refresh_token"]})
    assert r.get_json()["error"] == "invalid_grant"
    r = client.get("/authorize", query_string=f.authorize_params(citizen[0], f.pkce()[1],
                                                                 prompt="none"))
    assert f.query(r.headers["Location"])["error"] == "consent_required"
