"""A platform asks for level 2; the citizen verifies their identity on the way, in Chromium,
against the development registry; then adds the face check on their account page."""

import re

import requests

from tests import factories as f


def test_verification_on_the_way_to_a_platform_then_a_face_check(live_with_registry,
                                                                  relying_party, page):
    app, base = live_with_registry
    callback, seen = relying_party
    with app.app_context():
        f.user()
        cid, secret = f.rp(name="不动产登记平台", redirect_uris=(callback,))
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid, challenge, redirect_uri=callback,
                                acr_values="urn:cn:gov:idp:loa:2")
    page.goto(base + "/authorize?" + requests.compat.urlencode(params))
    page.get_by_label("手机号码、电子邮箱或用户名").fill("13800138000")
    page.get_by_label("密码").fill(f.PASSWORD)
    page.get_by_role("button", name="登录").click()

    assert "不动产登记平台" in page.locator("#required-level").inner_text()
    page.get_by_label("证件上的姓名").fill("张三")
    page.get_by_label("证件号码", exact=True).fill("11010119800101031x")  # lower-case x is fine
    page.get_by_role("button", name="核验身份").click()
    assert "权威库" in page.get_by_role("alert").inner_text()  # the agreement is required
    page.get_by_label("我同意通过权威库核验我的姓名和证件号码。").check()
    page.get_by_role("button", name="核验身份").click()
    page.get_by_role("button", name="同意").click()
    page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))

    code = f.query(seen[-1])["code"]
    r = requests.post(base + "/token", auth=(cid, secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback,
        "code_verifier": verifier})
    claims = f.claims_of(app, r.json()["id_token"]).claims
    assert claims["acr"] == "urn:cn:gov:idp:loa:2" and claims["real_name_verified"] is True

    page.goto(base + "/account/identity")
    assert page.locator("#masked-number").inner_text() == "110***********031X"
    page.get_by_role("button", name="开始人脸核验").click()
    assert "DEVELOPMENT face check" in page.content()
    page.get_by_role("button", name=re.compile("Pass")).click()
    assert page.locator("#identity-level").inner_text().startswith("三级")
