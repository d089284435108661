"""A citizen's own account in a real browser: self-registration with a text-message code,
an authenticator app and a passkey as second factors, and platforms that require MFA.

The live provider runs in this process, so TOTP codes use real time. A TOTP code is accepted
once per 30-second step (the enrolment's step is then spent), so the login after an
enrolment uses the *next* step's code: the provider accepts one step either side of now, so
it is valid at once, with no waiting."""

import re
import time

import pyotp
import requests

from tests import factories as f

WAIT_MS = 15_000
NEW_PASSWORD = "Ch00se-A-G00d-One"
NEW_PHONE = "13912345678"


# --- helpers ----------------------------------------------------------------------------------

def bounded(page):
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    return page


def go_authorize(page, base, client_id, callback, **params):
    """Start a relying party's authorization request; returns (verifier, params)."""
    verifier, challenge = f.pkce()
    params = f.authorize_params(client_id, challenge, redirect_uri=callback, **params)
    page.goto(base + "/authorize?" + requests.compat.urlencode(params))
    return verifier, params


def callback_query(page, callback, seen):
    page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))
    assert seen, "the relying party's callback was not called"
    return f.query(seen[-1])


def id_token_claims(app, base, client, code, callback, verifier):
    cid, secret = client
    r = requests.post(base + "/token", auth=(cid, secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback,
        "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return f.claims_of(app, r.json()["id_token"]).claims


def log_in_with_password(page, username, password):
    page.get_by_label("手机号码、电子邮箱或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def enrol_totp(page, base):
    """Set up an authenticator app on /account/totp; returns (pyotp.TOTP, time step used)."""
    page.goto(base + "/account")
    page.get_by_role("link", name="设置身份验证器应用").click()
    page.wait_for_url(base + "/account/totp")
    secret = page.locator("#totp-secret").inner_text()
    app_totp = pyotp.TOTP("".join(secret.split()))
    now = time.time()
    step = app_totp.timecode(now)
    page.get_by_label("应用显示的 6 位验证码").fill(app_totp.at(now))
    page.get_by_role("button", name="确认").click()
    page.wait_for_url(base + "/account")
    assert "身份验证器应用已设置完成。" in page.get_by_role("status").all_inner_texts()
    return app_totp, step


def next_step_code(app_totp, spent_step):
    """The code of the step after ``spent_step``: not yet used, and accepted now (the provider
    allows one step of drift) as long as less than a minute has passed."""
    return app_totp.at((spent_step + 1) * app_totp.interval)


def log_out(page, base):
    """The page's "Log out" button (each session's own button is "结束此会话")."""
    page.goto(base + "/account")
    page.get_by_role("button", name="退出登录", exact=True).click()
    page.get_by_role("heading", name=re.compile("退出")).wait_for()


# --- 1. registration, authenticator app, login with password and TOTP ------------------------

def test_register_with_sms_enrol_totp_and_log_in_with_it(live, relying_party, page):
    app, base = live
    callback, seen = relying_party
    bounded(page)
    with app.app_context():
        client = f.rp(name="公积金服务平台", redirect_uris=(callback,))

    page.goto(base + "/register")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_label("手机号码").fill(NEW_PHONE)
    page.get_by_role("button", name="发送验证码").click()
    page.get_by_label("短信验证码").wait_for()

    outbox = bounded(page.context.new_page())
    outbox.goto(base + "/dev/sms-outbox")
    row = outbox.locator("#sms-outbox tbody tr").filter(
        has=outbox.locator(".sms-to", has_text="+86" + NEW_PHONE)).first
    text = row.locator(".sms-text").inner_text()
    code = re.search(r"\d{6}", text).group(0)
    outbox.close()

    page.get_by_label("短信验证码").fill(code)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    page.wait_for_url(base + "/account")
    assert "+86139****5678" in page.content()  # the new account's number, masked

    app_totp, step = enrol_totp(page, base)
    log_out(page, base)

    verifier, params = go_authorize(page, base, client[0], callback, scope="openid phone")
    log_in_with_password(page, NEW_PHONE, NEW_PASSWORD)
    page.get_by_label("身份验证器应用中的验证码").fill(next_step_code(app_totp, step))
    page.get_by_role("button", name="验证").click()
    page.get_by_role("button", name="同意").click()
    q = callback_query(page, callback, seen)
    assert q["state"] == params["state"] and "code" in q, q

    claims = id_token_claims(app, base, client, q["code"], callback, verifier)
    assert "otp" in claims["amr"] and "mfa" in claims["amr"], claims["amr"]
    assert claims["nonce"] == params["nonce"]


# --- 2. passkey with Chromium's virtual authenticator ----------------------------------------

def virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def test_add_a_passkey_and_log_in_with_it(live_localhost, relying_party, page):
    app, base = live_localhost
    callback, seen = relying_party
    bounded(page)
    with app.app_context():
        f.user()
        client = f.rp(name="社保服务平台", redirect_uris=(callback,))
    cdp, authenticator_id = virtual_authenticator(page)

    page.goto(base + "/account")
    log_in_with_password(page, "13800138000", f.PASSWORD)
    page.wait_for_url(base + "/account")
    page.get_by_role("button", name="添加通行密钥或安全密钥").click()
    error = page.locator("#webauthn-error")
    page.wait_for_function(
        "() => document.location.pathname === '/account' && "
        "(document.body.innerText.includes('通行密钥已添加') || "
        "!document.getElementById('webauthn-error').hidden)")
    assert error.is_hidden(), "passkey registration failed: " + error.inner_text()
    assert "通行密钥已添加。" in page.get_by_role("status").all_inner_texts()
    creds = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(creds["credentials"]) == 1

    log_out(page, base)
    verifier, params = go_authorize(page, base, client[0], callback)
    log_in_with_password(page, "13800138000", f.PASSWORD)
    page.get_by_role("button", name="使用通行密钥或安全密钥").click()
    consent = page.get_by_role("button", name="同意")
    consent.or_(page.locator("#webauthn-error:visible")).wait_for()
    assert not page.locator("#webauthn-error").is_visible(), \
        "passkey login failed: " + page.locator("#webauthn-error").inner_text()
    consent.click()
    q = callback_query(page, callback, seen)
    assert q["state"] == params["state"] and "code" in q, q

    claims = id_token_claims(app, base, client, q["code"], callback, verifier)
    assert {"hwk", "swk"} & set(claims["amr"]) and "mfa" in claims["amr"], claims["amr"]


# --- 3. platforms that require MFA -----------------------------------------------------------

def test_platform_requiring_mfa_steps_up_a_password_session(live, relying_party, page):
    app, base = live
    callback, seen = relying_party
    bounded(page)
    with app.app_context():
        f.user()
        plain = f.rp(name="Platform A", redirect_uris=(callback,))
        strict = f.rp(name="税务服务平台", redirect_uris=(callback,), require_mfa=True)

    verifier, params = go_authorize(page, base, plain[0], callback)
    log_in_with_password(page, "13800138000", f.PASSWORD)
    page.get_by_role("button", name="同意").click()
    q = callback_query(page, callback, seen)
    assert id_token_claims(app, base, plain, q["code"], callback, verifier)["amr"] == ["pwd"]

    app_totp, step = enrol_totp(page, base)

    verifier, params = go_authorize(page, base, strict[0], callback)
    totp_field = page.get_by_label("身份验证器应用中的验证码")
    totp_field.wait_for()
    assert page.locator("input[type=password]").count() == 0  # the session stands
    assert "税务服务平台" in page.content()
    totp_field.fill(next_step_code(app_totp, step))
    page.get_by_role("button", name="验证").click()
    page.get_by_role("button", name="同意").click()
    q = callback_query(page, callback, seen)
    assert q["state"] == params["state"] and "code" in q, q
    claims = id_token_claims(app, base, strict, q["code"], callback, verifier)
    assert "mfa" in claims["amr"] and "otp" in claims["amr"], claims["amr"]


def test_platform_requiring_mfa_and_a_citizen_without_a_factor(live, relying_party, page):
    app, base = live
    callback, seen = relying_party
    bounded(page)
    with app.app_context():
        user = f.user()
        user.phone_verified = False  # no app, no passkey, not even a number to text a code to
        from idp.extensions import db

        db.session.commit()
        strict = f.rp(name="税务服务平台", redirect_uris=(callback,), require_mfa=True)

    _verifier, params = go_authorize(page, base, strict[0], callback, state="s-unmet")
    log_in_with_password(page, "13800138000", f.PASSWORD)
    page.get_by_role("heading", name="需要第二重验证").wait_for()
    assert "税务服务平台" in page.content()
    page.get_by_role("button", name="返回该服务").click()
    q = callback_query(page, callback, seen)
    assert q["error"] == "unmet_authentication_requirements", q
    assert q["state"] == "s-unmet" and q["iss"] == base and "code" not in q
