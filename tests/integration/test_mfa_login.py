"""Logins with a second factor: TOTP, recovery codes, passkeys; step-up on an existing SSO
session; platforms that require MFA; amr/acr in the ID token."""

import json
import re

import pyotp
import pytest
from freezegun import freeze_time

from clients.models import Client
from idp.extensions import db
from mfa import recovery
from mfa import totp
from mfa import webauthn
from tests import factories as f
from tests.conftest import ISSUER
from tests.softauthn import SoftAuthenticator

#: WebAuthn needs a domain as RP ID (browsers refuse an IP address), so this test's issuer is
#: http://localhost.
LOCAL_ISSUER = "http://localhost"
RP_ID = "localhost"


def enrol_totp(app):
    """Enrol and confirm an authenticator app for the demo citizen; returns its pyotp.TOTP."""
    from idp.accounts.models import User

    with app.app_context(), freeze_time("2026-12-01 07:00:00"):  # before the logins' steps
        user = User.query.one()
        factor, _uri, _svg, secret_text = totp.begin_enrolment(user, "手机")
        app_totp = pyotp.TOTP(secret_text.replace(" ", ""))
        assert totp.confirm(factor, app_totp.now())
    return app_totp


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user()
        return f.rp()


def tokens(client, rp, code, verifier):
    r = client.post("/token", auth=rp, data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": f.REDIRECT_URI,
                                             "code_verifier": verifier})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def start(flow, rp, **params):
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(rp[0], challenge, **params)))
    return verifier, page


def submit(flow, page, action_part, **fields):
    html = page.get_data(as_text=True)
    action = re.search(rf'action="([^"]*{action_part}[^"]*)"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return flow.follow(flow.post(action, data={"csrf_token": token, **fields}))


def test_totp_after_password(app, rp, client):
    app_totp = enrol_totp(app)
    flow = f.Flow(client)
    with freeze_time("2026-12-01 08:00:00"):
        verifier, page = start(flow, rp)
        page = flow.login(page)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and 'autocomplete="one-time-code"' in html
        wrong = submit(flow, page, "/mfa/totp", code="000000")
        assert wrong.status_code == 401 and "验证码不正确" in wrong.get_data(as_text=True)
        page = submit(flow, wrong, "/mfa/totp", code=app_totp.now())
        page = flow.consent(page)
        code = f.query(page.headers["Location"])["code"]
        claims = f.claims_of(app, tokens(client, rp, code, verifier)["id_token"]).claims
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "urn:cn:gov:idp:loa:1"


def test_a_totp_code_works_once(app, rp, client):
    app_totp = enrol_totp(app)
    with freeze_time("2026-12-01 08:00:00"):
        first, second = f.Flow(client), f.Flow(app.test_client())
        _v, page = start(first, rp)
        code = app_totp.now()
        assert submit(first, first.login(page), "/mfa/totp", code=code).status_code == 200
        _v, page = start(second, rp)
        replay = submit(second, second.login(page), "/mfa/totp", code=code)
        assert replay.status_code == 401


def test_five_wrong_codes_end_the_login(app, rp, client):
    enrol_totp(app)
    flow = f.Flow(client)
    _v, page = start(flow, rp)
    page = flow.login(page)
    for _ in range(4):
        page = submit(flow, page, "/mfa/totp", code="000000")
        assert page.status_code == 401
    last = submit(flow, page, "/mfa/totp", code="000000")
    assert last.status_code == 403 and "Location" not in last.headers


def test_recovery_code_instead_of_the_app(app, rp, client):
    enrol_totp(app)
    from idp.accounts.models import User

    with app.app_context():
        codes = recovery.generate(User.query.one())
    flow = f.Flow(client)
    verifier, page = start(flow, rp)
    page = submit(flow, flow.login(page), "/mfa/recovery", code=codes[0])
    resume = re.search(r'<a href="(/authorize/resume/[^"]+)"', page.get_data(as_text=True))
    page = flow.consent(flow.follow(flow.get(resume.group(1))))
    claims = f.claims_of(app, tokens(client, rp, f.query(page.headers["Location"])["code"],
                                     verifier)["id_token"]).claims
    assert "mfa" in claims["amr"]
    _v, page = start(f.Flow(app.test_client()), rp)
    other = f.Flow(app.test_client())
    _v, page = start(other, rp)
    assert submit(other, other.login(page), "/mfa/recovery",
                  code=codes[0]).status_code == 401  # used up


def test_step_up_asks_only_for_the_missing_factor(app, rp, client):
    with app.app_context():
        strict = f.rp(name="Tax", redirect_uris=("https://tax.gov.example/cb",),
                      require_mfa=True)
    flow = f.Flow(client)
    with freeze_time("2026-12-01 08:00:00") as frozen:
        verifier, page = start(flow, rp)
        first = flow.code(f.authorize_params(rp[0], f.pkce()[1]))  # password only
        assert "code" in first
        app_totp = enrol_totp(app)
        frozen.tick(120)
        verifier, challenge = f.pkce()
        page = flow.follow(flow.start(f.authorize_params(
            strict[0], challenge, redirect_uri="https://tax.gov.example/cb")))
        html = page.get_data(as_text=True)
        assert 'autocomplete="current-password"' not in html and "/mfa/totp" in html
        page = flow.consent(submit(flow, page, "/mfa/totp", code=app_totp.now()))
        code = f.query(page.headers["Location"])["code"]
        r = client.post("/token", auth=strict, data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": "https://tax.gov.example/cb"})
        claims = f.claims_of(app, r.get_json()["id_token"]).claims
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["auth_time"] == int(frozen.time_to_freeze.timestamp())  # the step-up


def test_prompt_none_cannot_step_up(app, rp, client):
    with app.app_context():
        strict = f.rp(name="Tax", redirect_uris=("https://tax.gov.example/cb",),
                      require_mfa=True)
    flow = f.Flow(client)
    flow.code(f.authorize_params(rp[0], f.pkce()[1]))
    r = client.get("/authorize", query_string=f.authorize_params(
        strict[0], f.pkce()[1], redirect_uri="https://tax.gov.example/cb", prompt="none"))
    assert f.query(r.headers["Location"])["error"] == "interaction_required"


def test_platform_requiring_mfa_and_a_citizen_without_a_factor(app, rp, client):
    from idp.accounts.models import User

    with app.app_context():
        Client.query.one().require_mfa = True
        User.query.one().phone_verified = False  # not even a number to text a code to
        db.session.commit()
    flow = f.Flow(client)
    _v, page = start(flow, rp, state="s-unmet")
    page = flow.login(page)
    assert "second factor" in page.get_data(as_text=True) or "第二" in page.get_data(
        as_text=True)
    r = submit(flow, page, "/mfa/cancel")
    q = f.query(r.headers["Location"])
    assert q["error"] == "unmet_authentication_requirements" and q["state"] == "s-unmet"
    assert q["iss"] == ISSUER


@pytest.mark.config(ISSUER=LOCAL_ISSUER)
def test_passkey_as_second_factor(app, rp, client):
    from idp.accounts.models import User

    authenticator = SoftAuthenticator()
    with app.app_context():
        user = User.query.one()
        options, state = webauthn.registration_options(user, RP_ID, "统一身份认证")
        opts = json.loads(options)
        webauthn.finish_registration(user, state, authenticator.create(
            opts["challenge"], LOCAL_ISSUER, RP_ID, opts["user"]["id"]), LOCAL_ISSUER, "YubiKey")
    flow = f.Flow(client, base_url=LOCAL_ISSUER)
    verifier, page = start(flow, rp)
    page = flow.login(page)
    html = page.get_data(as_text=True)
    options_url = re.search(r'data-options="([^"]+)"', html).group(1)
    step_url = re.search(r'id="webauthn-form"[^>]*\n?[^>]*action="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
    options = flow.post(options_url, headers=headers).get_json()
    assertion = authenticator.get(options["challenge"], LOCAL_ISSUER, RP_ID)
    r = flow.post(step_url, data=json.dumps(assertion), headers=headers)
    assert r.status_code == 200, r.get_json()
    page = flow.consent(flow.follow(flow.get(r.get_json()["redirect"])))
    claims = f.claims_of(app, tokens(client, rp, f.query(page.headers["Location"])["code"],
                                     verifier)["id_token"]).claims
    assert claims["amr"] == ["pwd", "hwk", "mfa"]


def test_sms_code_meets_a_platforms_mfa_policy(app, rp, client):
    from mfa.sms import outbox

    with app.app_context():
        Client.query.one().require_mfa = True
        db.session.commit()
    flow = f.Flow(client)
    verifier, page = start(flow, rp)
    page = flow.login(page)
    assert "+86138****8000" in page.get_data(as_text=True)
    page = submit(flow, page, "/mfa/sms/send")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    with app.app_context():
        text = outbox()[0]["text"]
    code = re.search(r"(\d{6})", text).group(1)
    assert submit(flow, page, "/mfa/sms", code="000000").status_code == 401
    page = flow.consent(submit(flow, page, "/mfa/sms", code=code))
    claims = f.claims_of(app, tokens(client, rp, f.query(page.headers["Location"])["code"],
                                     verifier)["id_token"]).claims
    assert claims["amr"] == ["pwd", "sms", "mfa"]


def test_sms_is_not_offered_to_someone_with_an_app(app, rp, client):
    enrol_totp(app)
    flow = f.Flow(client)
    _v, page = start(flow, rp)
    assert "/mfa/sms" not in flow.login(page).get_data(as_text=True)


def test_recovery_code_login_says_to_review_factors(app, rp, client):
    enrol_totp(app)
    from idp.accounts.models import User

    with app.app_context():
        codes = recovery.generate(User.query.one())
    flow = f.Flow(client)
    _v, page = start(flow, rp)
    page = submit(flow, flow.login(page), "/mfa/recovery", code=codes[1])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/account" in html and "9" in html
    resume = re.search(r'<a href="(/authorize/resume/[^"]+)"', html).group(1)
    assert 'name="decision"' in flow.follow(flow.get(resume)).get_data(as_text=True)
