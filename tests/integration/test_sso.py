"""Single sign-on: one login serves many platforms; prompt, max_age, sid; logout."""

import pytest
from freezegun import freeze_time

from tests import factories as f
from tests.factories import claims_of
from tests.integration.test_token import exchange


@pytest.fixture
def two_rps(app):
    with app.app_context():
        f.user()
        a = f.rp(name="Platform A", post_logout_redirect_uris=["http://127.0.0.1:9000/bye"])
        b = f.rp(name="Platform B", redirect_uris=("https://b.gov.example/cb",),
                 scope="openid profile")
    return a, b


@pytest.fixture
def flow(client):
    return f.Flow(client)


def tokens_for(flow, http, rp, redirect_uri=f.REDIRECT_URI, **overrides):
    verifier, challenge = f.pkce()
    params = f.authorize_params(rp[0], challenge, redirect_uri=redirect_uri, **overrides)
    code = flow.code(params)["code"]
    r = http.post("/token", data={"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": redirect_uri, "code_verifier": verifier},
                  auth=rp)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_second_platform_needs_no_password(app, two_rps, flow, client):
    a, b = two_rps
    ta = tokens_for(flow, client, a)
    verifier, challenge = f.pkce()
    params = f.authorize_params(b[0], challenge, redirect_uri="https://b.gov.example/cb")
    page = flow.follow(flow.start(params))
    html = page.get_data(as_text=True)
    assert 'autocomplete="current-password"' not in html and 'name="decision"' in html
    page = flow.consent(page)
    code = f.query(page.headers["Location"])["code"]
    tb = client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": "https://b.gov.example/cb",
                                     "code_verifier": verifier}, auth=b).get_json()
    ca, cb = claims_of(app, ta["id_token"]).claims, claims_of(app, tb["id_token"]).claims
    assert ca["sid"] == cb["sid"] and ca["auth_time"] == cb["auth_time"]
    # pairwise: unrelated platforms see different subjects for the same citizen
    assert ca["sub"] != cb["sub"]


def test_consent_is_remembered_and_prompt_none_succeeds_silently(app, two_rps, flow, client):
    a, _ = two_rps
    tokens_for(flow, client, a)
    verifier, challenge = f.pkce()
    r = client.get("/authorize", query_string=f.authorize_params(a[0], challenge, prompt="none"))
    assert r.status_code == 302 and "code" in f.query(r.headers["Location"])
    # a wider scope than consented needs consent again
    r = client.get("/authorize", query_string=f.authorize_params(
        a[0], challenge, prompt="none", scope="openid profile phone"))
    assert f.query(r.headers["Location"])["error"] == "consent_required"


def test_prompt_login_forces_a_new_login_and_new_sid(app, two_rps, flow, client):
    a, _ = two_rps
    first = claims_of(app, tokens_for(flow, client, a)["id_token"]).claims
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(a[0], challenge, prompt="login")))
    assert 'autocomplete="current-password"' in page.get_data(as_text=True)
    page = flow.login(page)
    assert page.status_code == 302
    code = f.query(page.headers["Location"])["code"]
    second = claims_of(app, exchange(client, code, verifier, auth=a).get_json()["id_token"])
    assert second.claims["sid"] != first["sid"]


def test_max_age_forces_login_when_the_session_is_older(app, two_rps, flow, client):
    a, _ = two_rps
    with freeze_time() as frozen:
        tokens_for(flow, client, a)
        frozen.tick(120)
        verifier, challenge = f.pkce()
        r = client.get("/authorize", query_string=f.authorize_params(a[0], challenge,
                                                                     max_age="300"))
        assert r.status_code == 302 and "code" in f.query(r.headers["Location"])
        r = client.get("/authorize", query_string=f.authorize_params(a[0], challenge,
                                                                     max_age="60"))
        assert r.status_code == 303 and r.headers["Location"].startswith("/interaction/")
        r = client.get("/authorize", query_string=f.authorize_params(
            a[0], challenge, max_age="60", prompt="none"))
        assert f.query(r.headers["Location"])["error"] == "login_required"


def test_max_age_answer_carries_auth_time(app, two_rps, flow, client):
    a, _ = two_rps
    tokens = tokens_for(flow, client, a, max_age="0")
    assert "auth_time" in claims_of(app, tokens["id_token"]).claims


def test_idle_session_expires(app, two_rps, flow, client):
    a, _ = two_rps
    with freeze_time() as frozen:
        tokens_for(flow, client, a)
        frozen.tick(31 * 60)
        verifier, challenge = f.pkce()
        r = client.get("/authorize", query_string=f.authorize_params(a[0], challenge,
                                                                     prompt="none"))
        assert f.query(r.headers["Location"])["error"] == "login_required"


def test_select_account_offers_the_current_account(app, two_rps, flow, client):
    a, _ = two_rps
    tokens_for(flow, client, a)
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(a[0], challenge, prompt="select_account")))
    html = page.get_data(as_text=True)
    assert 'value="continue"' in html and "张三" in html
    action, fields = f.form_of(html)
    r = flow.follow(client.post(action, data={**fields, "choice": "continue"}))
    assert r.status_code == 302 and "code" in f.query(r.headers["Location"])


def test_session_cookie_flags(two_rps, flow, client):
    a, _ = two_rps
    page = flow.follow(flow.start(f.authorize_params(a[0], f.pkce()[1])))
    action, fields = f.form_of(page.get_data(as_text=True))
    r = client.post(action, data={**fields, "username": "13800138000", "password": f.PASSWORD})
    cookie = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("idp_sso=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie


@pytest.mark.config(ISSUER="https://idp.gov.example")
def test_session_cookie_is_secure_under_https(app, two_rps, client):
    flow = f.Flow(client, base_url="https://idp.gov.example")
    page = flow.follow(flow.start(f.authorize_params(two_rps[0][0], f.pkce()[1])))
    action, fields = f.form_of(page.get_data(as_text=True))
    r = flow.post(action, data={**fields, "username": "13800138000", "password": f.PASSWORD})
    cookie = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("idp_sso=")][0]
    assert "Secure" in cookie


def test_logout_with_id_token_hint_ends_the_session(app, two_rps, flow, client):
    a, _ = two_rps
    tokens = tokens_for(flow, client, a)
    r = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "state": "bye-state",
        "post_logout_redirect_uri": "http://127.0.0.1:9000/bye"})
    assert r.status_code == 303
    assert r.headers["Location"] == "http://127.0.0.1:9000/bye?state=bye-state"
    verifier, challenge = f.pkce()
    r = client.get("/authorize", query_string=f.authorize_params(a[0], challenge, prompt="none"))
    assert f.query(r.headers["Location"])["error"] == "login_required"


def test_logout_without_hint_asks_for_confirmation(app, two_rps, flow, client):
    a, _ = two_rps
    tokens_for(flow, client, a)
    r = client.get("/logout")
    assert r.status_code == 200
    assert '<button type="submit" name="logout" value="yes">' in r.get_data(as_text=True)
    action, fields = f.form_of(r.get_data(as_text=True))
    r = client.post(action, data={**fields, "logout": "yes"})
    assert r.status_code == 200 and "您已退出登录" in r.get_data(as_text=True)
    r = client.get("/authorize", query_string=f.authorize_params(a[0], f.pkce()[1],
                                                                 prompt="none"))
    assert f.query(r.headers["Location"])["error"] == "login_required"


def test_logout_refuses_unregistered_return_address(app, two_rps, flow, client):
    a, _ = two_rps
    tokens = tokens_for(flow, client, a)
    r = client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                            "post_logout_redirect_uri": "https://evil.example/"})
    assert r.status_code == 400 and "Location" not in r.headers
    r = client.get("/logout", query_string={"id_token_hint": "not.a.jwt"})
    assert r.status_code == 400
