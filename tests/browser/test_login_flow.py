"""A citizen logs in to a relying party through a real browser."""

import re

import requests

from tests import factories as f


def test_login_consent_and_token_in_chromium(live, relying_party, page):
    app, base = live
    callback, seen = relying_party
    with app.app_context():
        f.user()
        cid, secret = f.rp(name="社保服务平台", redirect_uris=(callback,))
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid, challenge, scope="openid profile phone",
                                redirect_uri=callback)
    page.goto(base + "/authorize?" + requests.compat.urlencode(params))

    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "社保服务平台" in page.content()
    page.get_by_label("手机号码、电子邮箱或用户名").fill("13800138000")
    page.get_by_label("密码").fill("wrong password")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text().startswith("手机号码或密码不正确")

    page.get_by_label("密码").fill(f.PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert "您的手机号码" in page.content()
    page.get_by_role("button", name="同意").click()
    page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))

    q = f.query(seen[-1])
    assert q["state"] == params["state"] and q["iss"] == base
    r = requests.post(base + "/token", auth=(cid, secret), timeout=10, data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": callback,
        "code_verifier": verifier})
    assert r.status_code == 200, r.text
    claims = f.claims_of(app, r.json()["id_token"]).claims
    assert claims["nonce"] == params["nonce"] and claims["amr"] == ["pwd"]

    # a second visit is silent: the SSO session and the remembered consent carry it
    again = f.authorize_params(cid, f.pkce()[1], scope="openid profile phone",
                               redirect_uri=callback)
    page.goto(base + "/authorize?" + requests.compat.urlencode(again))
    page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))
    assert len(seen) == 2 and "code" in f.query(seen[-1])


def test_english_login_page_by_ui_locales(live, page):
    app, base = live
    with app.app_context():
        f.user()
        cid, _ = f.rp(name="Tax Platform")
    params = f.authorize_params(cid, f.pkce()[1], ui_locales="en")
    page.goto(base + "/authorize?" + requests.compat.urlencode(params))
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Mobile number, email or username").fill("13800138000")
    page.get_by_label("Password").fill("nope-nope")
    page.get_by_role("button", name="Log in").click()
    assert "incorrect" in page.get_by_role("alert").inner_text()
    # the language switch keeps the page and remembers the choice
    page.get_by_role("link", name="中文").click()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
