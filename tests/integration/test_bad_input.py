"""Hostile or malformed input gets a clear error, never a 500."""

import base64

import pytest

from tests import factories as f


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user()
        return f.rp()


def basic(value):
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


CASES = [
    ("POST", "/token", {}, None),
    ("POST", "/token", {"content_type": "application/json", "data": '{"grant_type": 1}'}, None),
    ("POST", "/token", {"data": {"grant_type": ["authorization_code", "refresh_token"]}}, None),
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "code": "x" * 5000}},
     "auth"),
    ("POST", "/token", {"data": {"grant_type": "refresh_token", "refresh_token": "\u0000"}},
     "auth"),
    ("POST", "/token", {"headers": {"Authorization": "Basic !!!notbase64"},
                        "data": {"grant_type": "client_credentials"}}, None),
    ("POST", "/token", {"headers": basic("no-colon"), "data": {"grant_type": "client_credentials"}},
     None),
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "code": "c",
                                 "client_assertion_type":
                                     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                 "client_assertion": "a.b.c"}}, None),
    ("POST", "/token", {"data": {"grant_type": "client_credentials",
                                 "client_assertion_type":
                                     "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                 "client_assertion": "eyJhbGciOiJub25lIn0.eyJzdWIiOjF9."}}, None),
    ("POST", "/token", {"data": b"\xff\xfe\x00garbage",
                        "content_type": "application/x-www-form-urlencoded"}, None),
    ("GET", "/token", {}, None),
    ("POST", "/introspect", {"data": {"token": "x"}}, None),
    ("POST", "/introspect", {"data": {"token": "a.b.c", "token_type_hint": "weird"}}, "auth"),
    ("POST", "/revoke", {"data": {}}, "auth"),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer a.b.c"}}, None),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer " + "e" * 9000}}, None),
    ("GET", "/userinfo", {"headers": {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}}, None),
    ("GET", "/authorize", {"query_string": "client_id=a&client_id=b"}, None),
    ("GET", "/authorize", {"query_string": "response_type=code&client_id=%ff%fe"}, None),
    ("GET", "/authorize", {}, None),
    ("GET", "/authorize", {"query_string": "response_type=code&client_id=a%00b"}, None),
    ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_id": "a\x00",
                                 "client_secret": "b"}}, None),
    ("POST", "/token", {"headers": basic("a\x00:b"), "data": {"grant_type": "client_credentials"}},
     None),
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "code": "a\x00b"}}, "auth"),
    ("POST", "/token", {"data": {"grant_type": "client_credentials"}, "headers": {
        "Authorization": "Basic " + "A" * 20000}}, None),
    ("GET", "/logout", {"query_string": {"id_token_hint": "x" * 10000}}, None),
    ("GET", "/logout", {"query_string": {"client_id": "nope",
                                         "post_logout_redirect_uri": "https://x"}}, None),
    ("POST", "/interaction/" + "x" * 500 + "/login", {"data": {"username": "a"}}, None),
    ("POST", "/interaction/abc/consent", {"data": {"decision": "allow"}}, None),
    ("GET", "/authorize/resume/%00", {}, None),
    ("DELETE", "/jwks.json", {}, None),
]


@pytest.mark.parametrize("method, path, kwargs, auth", CASES,
                         ids=[f"{c[0]} {c[1][:30]} {i}" for i, c in enumerate(CASES)])
def test_no_500(rp, client, method, path, kwargs, auth):
    if auth:
        kwargs = {**kwargs, "auth": rp}
    r = client.open(path, method=method, **kwargs)
    assert 400 <= r.status_code < 500 or (r.status_code == 200 and path in (
        "/introspect", "/revoke")), (r.status_code, r.get_data(as_text=True)[:300])
    if path in ("/token", "/introspect", "/revoke") and r.status_code >= 400:
        body = r.get_json()
        assert body["error"] and isinstance(body["error"], str)


@pytest.mark.parametrize("username", ["\x00", "1380013800\x00", "a" * 300, "张三\x00@例子.中国"])
def test_login_with_odd_identifiers_is_a_plain_failure(rp, client, username):
    flow = f.Flow(client)
    page = flow.follow(flow.start(f.authorize_params(rp[0], f.pkce()[1])))
    r = flow.login(page, username=username, password="whatever-password")
    assert r.status_code in (400, 401)
    assert "autocomplete" in r.get_data(as_text=True) or "NUL" in r.get_data(as_text=True)


def test_oversized_body_is_refused(rp, client):
    r = client.post("/token", data={"grant_type": "client_credentials", "x": "y" * 2_000_000},
                    auth=rp)
    assert r.status_code == 413 and r.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("method, path, status, text", [
    ("get", "/no-such-page", 404, ("页面不存在。", "This page does not exist.")),
    ("delete", "/account", 405, ("此地址不接受这种请求。",
                                 "This address does not take this kind of request.")),
])
def test_error_pages_speak_the_pages_language(client, method, path, status, text):
    """Werkzeug's own English descriptions are not shown on a page: its language's are."""
    for language, expected in zip(("zh-CN", "en"), text, strict=True):
        r = getattr(client, method)(path, headers={"Accept-Language": language})
        html = r.get_data(as_text=True)
        assert r.status_code == status and expected in html
        assert "The requested URL" not in html and "The method is not allowed" not in html
    api = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert api.get_json()["error"] == "not_found"
