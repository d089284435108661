"""The "act for" chooser in Chromium: a legal representative who is also an agent firm's
handler logs in to an enterprise platform, sees one button per choice, acts for the
enterprise, then switches to acting for themselves without a password."""

import re

import requests

from idp.enterprise import service
from tests import factories as f

TECH = "911101080000000194"
AGENCY = "914403050000000359"


def test_choosing_whom_to_act_for_and_switching_in_chromium(live, relying_party, page):
    app, base = live
    callback, seen = relying_party
    with app.app_context():
        zhang = f.user(name="张三")
        wang = f.user(phone="13700137000", name="王五")
        operator = service.Actor.operator("cli:test")
        service.declare(TECH, "示例科技有限公司", zhang, actor=operator)
        service.declare(AGENCY, "示例财税代理有限公司", wang, actor=operator)
        service.appoint(service.get(AGENCY), zhang, "handler", actor=operator,
                        matters=("tax.declare",), ends_at=service.day_end("2099-12-31"))
        cid, secret = f.rp(name="企业服务平台", redirect_uris=(callback,),
                           scope="openid profile enterprise")
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid, challenge, scope="openid enterprise",
                                redirect_uri=callback)
    page.goto(base + "/authorize?" + requests.compat.urlencode(params))
    page.get_by_label("手机号码、电子邮箱或用户名").fill("13800138000")
    page.get_by_label("密码").fill(f.PASSWORD)
    page.get_by_role("button", name="登录").click()

    assert page.get_by_role("heading").inner_text() == "您代表谁办事？"
    buttons = page.locator('button[name="act_as"]')
    assert [buttons.nth(i).get_attribute("value") for i in range(buttons.count())] == [
        "self", TECH, AGENCY]
    agency = page.locator(f'button[name="act_as"][value="{AGENCY}"]')
    assert "经办人" in agency.inner_text() and "tax.declare" in agency.inner_text()
    assert "2099-12-31" in agency.inner_text()
    page.get_by_role("button", name=re.compile("示例科技有限公司")).click()
    assert "了解您代表哪个企业" in page.content()  # consent names what the platform learns
    page.get_by_role("button", name="同意").click()
    page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))
    code = f.query(seen[-1])["code"]
    r = requests.post(base + "/token", auth=(cid, secret), timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback,
        "code_verifier": verifier})
    assert r.status_code == 200, r.text
    claims = f.claims_of(app, r.json()["id_token"]).claims
    assert claims["enterprise"]["credit_code"] == TECH
    assert claims["enterprise"]["role"] == "legal_representative"

    # switching: the platform asks again (prompt=select_account); no password is asked
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid, challenge, scope="openid enterprise",
                                redirect_uri=callback, prompt="select_account")
    page.goto(base + "/authorize?" + requests.compat.urlencode(params))
    page.get_by_role("button", name=re.compile("继续")).click()
    assert page.locator('input[type="password"]').count() == 0
    page.get_by_role("button", name=re.compile("我本人")).click()
    page.wait_for_url(re.compile("^" + re.escape(callback) + r"\?"))
    r = requests.post(base + "/token", auth=(cid, secret), timeout=10, data={
        "grant_type": "authorization_code", "code": f.query(seen[-1])["code"],
        "redirect_uri": callback, "code_verifier": verifier})
    assert "enterprise" not in f.claims_of(app, r.json()["id_token"]).claims
