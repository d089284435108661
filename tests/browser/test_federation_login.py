"""A citizen logs in to a platform through their regional identity provider, in a real
browser: the national login page's upstream button, the regional provider's own login (a
second instance of this provider on localhost), the first-login page, consent, the platform;
then logs out, and the browser passes by the regional provider, which logs out too."""

import re

import requests

from tests import factories as f
from tests.upstream import PASSWORD
from tests.upstream import PHONE
from tests.upstream import regional


def test_log_in_with_a_regional_provider_in_chromium(live, relying_party, page, tmp_path):
    app, base = live
    callback, seen = relying_party
    with regional(tmp_path, base) as zj:
        zj.register_at(app)
        with app.app_context():
            cid, secret = f.rp(name="社保服务平台", redirect_uris=(callback,))
        verifier, challenge = f.pkce()
        params = f.authorize_params(cid, challenge, redirect_uri=callback)
        page.goto(base + "/authorize?" + requests.compat.urlencode(params))

        page.get_by_role("button", name="使用 zj 政务服务网 登录").click()
        page.wait_for_url(re.compile("^" + re.escape(zj.issuer) + "/interaction/"))
        page.get_by_label("手机号码、电子邮箱或用户名").fill(PHONE)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        assert "国家统一身份认证" in page.content()  # the regional consent names us
        page.get_by_role("button", name="同意").click()

        page.wait_for_url(re.compile("^" + re.escape(base) + "/interaction/"))
        assert "您已在 zj 政务服务网 以 王五 的身份登录。" in page.content()
        page.get_by_role("button", name="注册账号").click()
        page.get_by_role("button", name="同意").click()
        page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))

        # logging out here passes by the regional provider, which logs out too
        page.goto(base + "/account")
        page.get_by_role("button", name="退出登录").last.click()
        page.wait_for_url(re.compile("^" + re.escape(base) + "/logout/done/"))
        assert "您已退出登录" in page.content()
        page.goto(zj.issuer + "/account")
        assert "/interaction/" in page.url  # its session ended: it asks for a login

    q = f.query(seen[-1])
    assert q["state"] == params["state"] and q["iss"] == base
    r = requests.post(base + "/token", auth=(cid, secret), timeout=10, data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": callback,
        "code_verifier": verifier})
    assert r.status_code == 200, r.text
    claims = f.claims_of(app, r.json()["id_token"]).claims
    assert claims["amr"] == ["fed"] and claims["acr"] == "urn:cn:gov:idp:loa:1"
