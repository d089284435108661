"""Authorization endpoint: request validation, error routing, PKCE, iss (RFC 9207)."""

import pytest

from tests import factories as f
from tests.conftest import ISSUER


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user()
        return f.rp()


@pytest.fixture
def flow(client):
    return f.Flow(client)


def _challenge():
    return f.pkce()[1]


def test_happy_path_returns_code_state_and_iss(rp, flow):
    params = f.authorize_params(rp[0], _challenge())
    result = flow.code(params)
    assert set(result) == {"code", "state", "iss"}
    assert result["state"] == params["state"]
    assert result["iss"] == ISSUER


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1:9000/other",      # not registered
    "http://127.0.0.1:9000/cb/",        # not an exact match
    "https://evil.example/cb",
    None,                               # missing: OIDC requires it
])
def test_unverifiable_redirect_uri_gets_error_page_never_redirect(rp, client, redirect_uri):
    params = f.authorize_params(rp[0], _challenge(), redirect_uri=redirect_uri)
    r = client.get("/authorize", query_string=params)
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert "invalid_request" in r.get_data(as_text=True)


def test_unknown_client_gets_error_page(rp, client):
    r = client.get("/authorize", query_string=f.authorize_params("nope", _challenge()))
    assert r.status_code == 400 and "Location" not in r.headers
    assert "invalid_client" in r.get_data(as_text=True)


def test_error_page_in_chinese_by_default_and_english_on_request(rp, client):
    r = client.get("/authorize", query_string=f.authorize_params("nope", _challenge()))
    assert "该服务未在本平台登记" in r.get_data(as_text=True)
    r = client.get("/authorize", query_string=f.authorize_params("nope", _challenge(),
                                                                 ui_locales="en"))
    assert "not registered with us" in r.get_data(as_text=True)
    r = client.get("/authorize", query_string=f.authorize_params("nope", _challenge()),
                   headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "not registered with us" in r.get_data(as_text=True)


def _redirected_error(client, params):
    r = client.get("/authorize", query_string=params)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert r.headers["Location"].startswith(f.REDIRECT_URI + "?")
    q = f.query(r.headers["Location"])
    assert q["iss"] == ISSUER
    assert q.get("state") == params.get("state")
    return q


@pytest.mark.parametrize("overrides, error", [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"nonce": None}, "invalid_request"),
    ({"scope": "openid unknown_scope"}, "invalid_scope"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"scope": "openid email"}, "invalid_scope"),  # known, not registered for this client
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
    # JSON nested deeper than the parser goes (within the parameters' length limits)
    ({"claims": "[" * 1500 + "]" * 1500}, "invalid_request"),
    ({"authorization_details": "[" * 1500 + "]" * 1500}, "invalid_request"),
    ({"max_age": "²"}, "invalid_request"),  # a digit to str.isdigit, no number to int()
    ({"max_age": "٣٠٠"}, "invalid_request"),  # Arabic-Indic digits: ASCII digits only
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ({"request_uri": "https://rp.example/req"}, "request_uri_not_supported"),
])
def test_invalid_requests_are_redirected_with_exact_error(rp, client, overrides, error):
    q = _redirected_error(client, f.authorize_params(rp[0], _challenge(), **overrides))
    assert q["error"] == error


def test_duplicate_parameter_is_refused(rp, client):
    params = f.authorize_params(rp[0], _challenge())
    qs = "&".join(f"{k}={v}" for k, v in params.items()) + "&nonce=again"
    r = client.get("/authorize?" + qs)
    assert f.query(r.headers["Location"])["error"] == "invalid_request"


def test_post_to_authorize_is_accepted(rp, client):
    r = client.post("/authorize", data=f.authorize_params(rp[0], _challenge()))
    assert r.status_code == 303 and r.headers["Location"].startswith("/interaction/")


def test_prompt_none_without_session_is_login_required(rp, client):
    q = _redirected_error(client, f.authorize_params(rp[0], _challenge(), prompt="none"))
    assert q["error"] == "login_required"


def test_prompt_none_with_session_but_no_consent_is_consent_required(app, rp, flow, client):
    flow.code(f.authorize_params(rp[0], _challenge()))
    with app.app_context():
        other = f.rp(name="Platform B")
    q = _redirected_error(client, f.authorize_params(other[0], _challenge(), prompt="none"))
    assert q["error"] == "consent_required"


def test_denied_consent_is_access_denied(rp, flow):
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge(), state="xyz")))
    page = flow.login(page)
    r = flow.consent(page, decision="deny")
    q = f.query(r.headers["Location"])
    assert q["error"] == "access_denied" and q["state"] == "xyz" and q["iss"] == ISSUER


def test_wrong_password_gets_one_generic_message(rp, flow):
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge())))
    wrong = flow.login(page, password="wrong-password")
    unknown = flow.login(page, username="13900000000", password="wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    body = wrong.get_data(as_text=True)
    assert "手机号码或密码不正确" in body
    assert body.split('role="alert"')[1][:200] == unknown.get_data(
        as_text=True).split('role="alert"')[1][:200]


def test_disabled_account_cannot_log_in(app, rp, flow):
    from idp.accounts.models import User
    from idp.extensions import db

    with app.app_context():
        User.query.one().status = "disabled"
        db.session.commit()
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge())))
    assert flow.login(page, password="wrong-password").status_code == 401  # no hint
    r = flow.login(page)  # the right password learns why
    assert r.status_code == 403 and "已被停用" in r.get_data(as_text=True)


def test_login_form_follows_the_form_contract(rp, flow):
    params = f.authorize_params(rp[0], _challenge(), login_hint="13800138000")
    page = flow.follow(flow.start(params))
    html = page.get_data(as_text=True)
    assert 'autocomplete="username"' in html and 'value="13800138000"' in html
    assert 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html
    assert 'href="/register?next=/authorize?response_type%3Dcode' in html  # and back here
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


def test_login_without_csrf_token_is_refused(rp, flow, client):
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge())))
    action, _fields = f.form_of(page.get_data(as_text=True))
    r = client.post(action, data={"username": "13800138000", "password": f.PASSWORD})
    assert r.status_code == 400 and "invalid_request" in r.get_data(as_text=True)


def test_consent_page_uses_plain_words_and_the_button_contract(rp, flow):
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge(),
                                                     scope="openid profile phone")))
    page = flow.login(page)
    html = page.get_data(as_text=True)
    assert '<button type="submit" name="decision" value="allow">' in html
    assert 'name="decision" value="deny"' in html
    assert "您的手机号码" in html and "您的姓名" in html


def test_expired_interaction_is_a_clear_page(rp, flow, client):
    r = client.get("/interaction/doesnotexist")
    assert r.status_code == 400 and "登录请求已过期" in r.get_data(as_text=True)
    r = client.get("/authorize/resume/doesnotexist")
    assert r.status_code == 400


def test_suspended_client_cannot_start_a_login(app, rp, client):
    from clients.models import Client
    from idp.extensions import db

    with app.app_context():
        Client.query.one().status = "suspended"
        db.session.commit()
    r = client.get("/authorize", query_string=f.authorize_params(rp[0], _challenge()))
    assert r.status_code == 400 and "invalid_client" in r.get_data(as_text=True)


@pytest.mark.config(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")
def test_login_attempts_are_limited_per_address(rp, flow):
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge())))
    statuses = [flow.login(page, password="wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    r = flow.login(page)
    assert r.status_code == 429 and "尝试次数过多" in r.get_data(as_text=True)


@pytest.mark.config(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="1 per minute")
def test_protocol_endpoints_are_not_limited_per_address(rp, client):
    for _ in range(5):
        assert client.get("/jwks.json").status_code == 200
        r = client.post("/token", data={"grant_type": "client_credentials"}, auth=rp)
        assert r.status_code == 400  # unauthorized_client, never 429


def test_consent_from_another_browser_is_refused(app, rp, flow):
    page = flow.follow(flow.start(f.authorize_params(rp[0], _challenge())))
    page = flow.login(page)
    action, _fields = f.form_of(page.get_data(as_text=True))
    intruder = f.Flow(app.test_client())
    csrf_page = intruder.follow(intruder.start(f.authorize_params(rp[0], _challenge())))
    _action, fields = f.form_of(csrf_page.get_data(as_text=True))
    r = intruder.post(action, data={**fields, "decision": "allow"})
    assert r.status_code == 400 and "Location" not in r.headers
