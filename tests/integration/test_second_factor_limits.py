"""Second factors share one try counter, one rate limit and the account's lockout (issue 10,
findings A, D and F): wrong answers count across logins and addresses for every factor kind,
a bogus WebAuthn assertion counts like a wrong code, and a step-up gives the browser a new
session secret."""

import json
import re

import pyotp
import pytest
from freezegun import freeze_time

from idp.accounts.models import User
from idp.audit.models import AuditEvent
from mfa import recovery
from mfa import totp
from mfa import webauthn
from tests import factories as f
from tests.softauthn import SoftAuthenticator

LOCAL_ISSUER = "http://localhost"
RP_ID = "localhost"
LOCKED = "已被锁定"


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user()
        return f.rp()


def enrol_totp(app):
    with app.app_context(), freeze_time("2026-12-01 07:00:00"):
        factor, _uri, _svg, secret_text = totp.begin_enrolment(User.query.one(), "手机")
        app_totp = pyotp.TOTP(secret_text.replace(" ", ""))
        assert totp.confirm(factor, app_totp.now())
    return app_totp


def second_factor_page(app, rp, remote_addr="127.0.0.1"):
    """A fresh browser (and client address) past the password: the second-factor page."""
    flow = f.Flow(app.test_client())
    flow.http.environ_base["REMOTE_ADDR"] = remote_addr
    page = flow.follow(flow.start(f.authorize_params(rp[0], f.pkce()[1])))
    return flow, flow.login(page)


def post_code(flow, page, kind, code):
    html = page.get_data(as_text=True)
    action = re.search(rf'action="([^"]*/mfa/{kind})"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return flow.follow(flow.post(action, data={"csrf_token": token, "code": code}))


def failed_factors(app):
    with app.app_context():
        return User.query.one().failed_factors


def test_wrong_codes_lock_the_account_across_logins_and_addresses(app, rp):
    """Finding A: 6 logins x 4 wrong TOTP codes from different addresses; the tenth wrong
    answer locks the account, and then the right code no longer gets in."""
    app_totp = enrol_totp(app)
    wrong = 0
    with freeze_time("2026-12-01 08:00:00") as frozen:
        for login in range(6):
            flow, page = second_factor_page(app, rp, remote_addr=f"10.0.0.{login + 1}")
            if page.status_code == 403:
                break
            for _ in range(4):
                r = post_code(flow, page, "totp", "000000")
                wrong += 1
                if r.status_code == 403:
                    break
                assert r.status_code == 401
            frozen.tick(5)
        assert wrong == 10 and r.status_code == 403 and LOCKED in r.get_data(as_text=True)
        # the password alone now says nothing of the lock; the right password is told
        flow = f.Flow(app.test_client())
        page = flow.follow(flow.start(f.authorize_params(rp[0], f.pkce()[1])))
        bad = flow.login(page, password="wrong-password")
        assert bad.status_code == 401 and "锁定" not in bad.get_data(as_text=True)
        frozen.tick(10)
        right = flow.login(page)
        assert right.status_code == 403 and LOCKED in right.get_data(as_text=True)
        assert 'autocomplete="one-time-code"' not in right.get_data(as_text=True)
        del app_totp
    with app.app_context():
        user = User.query.one()
        assert user.status == "locked" and user.failed_factors == 10
        locks = AuditEvent.query.filter_by(action="account.locked").all()
        assert len(locks) == 1 and locks[0].detail["reason"] == "second_factor"


def test_a_right_second_factor_ends_the_run(app, rp):
    app_totp = enrol_totp(app)
    with freeze_time("2026-12-01 08:00:00"):
        flow, page = second_factor_page(app, rp)
        for _ in range(3):
            page = post_code(flow, page, "totp", "000000")
        assert failed_factors(app) == 3
        assert 'name="decision"' in post_code(flow, page, "totp",
                                               app_totp.now()).get_data(as_text=True)
    assert failed_factors(app) == 0


def test_the_password_does_not_reset_the_factor_count(app, rp):
    enrol_totp(app)
    with freeze_time("2026-12-01 08:00:00"):
        for _ in range(2):
            flow, page = second_factor_page(app, rp)
            post_code(flow, page, "totp", "000000")
    assert failed_factors(app) == 2


def test_every_factor_kind_counts(app, rp):
    """Recovery codes and codes by text message count toward the same lockout."""
    from clients.models import Client
    from mfa.sms import outbox

    with app.app_context():
        Client.query.one().require_mfa = True  # a citizen without an app: sms, recovery
        recovery.generate(User.query.one())
    flow, page = second_factor_page(app, rp)
    page = post_code(flow, page, "recovery", "aaaa-bbbb-cc")
    assert page.status_code == 401 and failed_factors(app) == 1
    html = page.get_data(as_text=True)
    action = re.search(r'action="([^"]*/mfa/sms/send)"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    page = flow.post(action, data={"csrf_token": token})
    with app.app_context():
        assert outbox()
    assert post_code(flow, page, "sms", "000000").status_code == 401
    assert failed_factors(app) == 2


def passkey_login(app, rp, authenticator):
    flow = f.Flow(app.test_client(), base_url=LOCAL_ISSUER)
    page = flow.login(flow.follow(flow.start(f.authorize_params(rp[0], f.pkce()[1]))))
    html = page.get_data(as_text=True)
    options_url = re.search(r'data-options="([^"]+)"', html).group(1)
    step_url = re.search(r'id="webauthn-form"[^>]*\n?[^>]*action="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
    return flow, page, options_url, step_url, headers


def enrol_passkey(app, authenticator):
    with app.app_context():
        user = User.query.one()
        options, state = webauthn.registration_options(user, RP_ID, "统一身份认证")
        opts = json.loads(options)
        webauthn.finish_registration(user, state, authenticator.create(
            opts["challenge"], LOCAL_ISSUER, RP_ID, opts["user"]["id"]), LOCAL_ISSUER, "key")


@pytest.mark.config(ISSUER=LOCAL_ISSUER)
def test_bogus_assertions_end_the_login_like_wrong_codes(app, rp):
    """Finding D: wrong WebAuthn assertions count toward the login's try limit; once it is
    reached, no other factor finishes that login."""
    authenticator = SoftAuthenticator()
    enrol_passkey(app, authenticator)
    app_totp = enrol_totp(app)
    flow, page, options_url, step_url, headers = passkey_login(app, rp, authenticator)
    statuses = []
    for _ in range(5):
        flow.post(options_url, headers=headers)
        r = flow.post(step_url, data=json.dumps({"id": "bogus", "rawId": "bogus",
                                                 "type": "public-key", "response": {}}),
                      headers=headers)
        statuses.append((r.status_code, r.get_json()["error"]))
    assert statuses[:4] == [(400, "malformed")] * 4
    assert statuses[4] == (403, "access_denied")
    late = post_code(flow, page, "totp", app_totp.now())
    assert late.status_code == 400 and "已过期" in late.get_data(as_text=True)
    assert failed_factors(app) == 5
    with app.app_context():
        failures = AuditEvent.query.filter_by(action="mfa.failure").all()
        assert [e.detail["factor"] for e in failures] == ["webauthn"] * 5


@pytest.mark.config(ISSUER=LOCAL_ISSUER, RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
def test_webauthn_routes_are_rate_limited(app, rp):
    authenticator = SoftAuthenticator()
    enrol_passkey(app, authenticator)
    flow, _page, options_url, step_url, headers = passkey_login(app, rp, authenticator)
    statuses = [flow.post(options_url, headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    bogus = json.dumps({"id": "x", "rawId": "x", "type": "public-key", "response": {}})
    statuses = [flow.post(step_url, data=bogus, headers=headers).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_a_step_up_gives_the_browser_a_new_session_secret(app, rp, client):
    """Finding F: the cookie of a password-only session is dead once the session stepped up
    (OWASP ASVS 3.2.1); the session's sid, known to platforms, stays."""
    with app.app_context():
        strict = f.rp(name="Tax", redirect_uris=("https://tax.gov.example/cb",),
                      require_mfa=True)
    flow = f.Flow(client)
    with freeze_time("2026-12-01 08:00:00") as frozen:
        assert "code" in flow.code(f.authorize_params(rp[0], f.pkce()[1]))
        before = client.get_cookie("idp_sso").value
        app_totp = enrol_totp(app)
        frozen.tick(60)
        page = flow.follow(flow.start(f.authorize_params(
            strict[0], f.pkce()[1], redirect_uri="https://tax.gov.example/cb")))
        page = flow.consent(post_code(flow, page, "totp", app_totp.now()))
        assert "code=" in page.headers["Location"]
        after = client.get_cookie("idp_sso").value
        assert after != before
        thief = app.test_client()
        thief.set_cookie("idp_sso", before)
        r = thief.get("/authorize", query_string=f.authorize_params(
            strict[0], f.pkce()[1], redirect_uri="https://tax.gov.example/cb", prompt="none"))
        assert f.query(r.headers["Location"])["error"] == "login_required"
        r = client.get("/authorize", query_string=f.authorize_params(
            strict[0], f.pkce()[1], redirect_uri="https://tax.gov.example/cb", prompt="none"))
        assert "code" in f.query(r.headers["Location"])
