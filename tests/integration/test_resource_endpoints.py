"""Userinfo (OIDC Core 5.3), introspection (RFC 7662) and revocation (RFC 7009)."""

import pytest
from freezegun import freeze_time

from tests import factories as f
from tests.integration.test_sso import tokens_for


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user(email="zhang@example.cn")
        return f.rp(scope="openid profile phone email")


@pytest.fixture
def issued(rp, client):
    return tokens_for(f.Flow(client), client, rp, scope="openid profile phone")


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_userinfo_get_and_post_release_claims_by_scope(rp, issued, client):
    r = client.get("/userinfo", headers=bearer(issued["access_token"]))
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    claims = r.get_json()
    assert claims["name"] == "张三" and claims["phone_number"] == "+8613800138000"
    assert claims["phone_number_verified"] is True and "email" not in claims
    r = client.post("/userinfo", headers=bearer(issued["access_token"]))
    assert r.get_json() == claims
    r = client.post("/userinfo", data={"access_token": issued["access_token"]})
    assert r.get_json() == claims


def test_userinfo_sub_matches_the_id_token(app, issued, client):


    sub = f.claims_of(app, issued["id_token"]).claims["sub"]
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).get_json()["sub"] == sub


@pytest.mark.parametrize("headers, status, error", [
    ({}, 401, None),
    ({"Authorization": "Bearer not-a-token"}, 401, "invalid_token"),
    ({"Authorization": "Basic abc"}, 401, None),
])
def test_userinfo_bearer_errors(client, headers, status, error):
    r = client.get("/userinfo", headers=headers)
    assert r.status_code == status
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    if error:
        assert f'error="{error}"' in r.headers["WWW-Authenticate"]
        assert r.get_json()["error"] == error


def test_userinfo_refuses_expired_and_client_credentials_tokens(app, issued, client):
    with freeze_time() as frozen:
        frozen.tick(901)
        r = client.get("/userinfo", headers=bearer(issued["access_token"]))
        assert r.status_code == 401
    with app.app_context():
        cid, secret = f.rp(name="M2M", grant_types=("client_credentials",), redirect_uris=(),
                           scope="openid api")
    token = client.post("/token", data={"grant_type": "client_credentials", "scope": "openid"},
                        auth=(cid, secret)).get_json()["access_token"]
    assert client.get("/userinfo", headers=bearer(token)).status_code == 401


def test_userinfo_needs_openid_scope(app, client):
    with app.app_context():
        f.user()
        rp = f.rp(name="Two", scope="openid profile")
    tokens = tokens_for(f.Flow(client), client, rp)
    r = client.post("/token", data={"grant_type": "refresh_token", "scope": "profile",
                                    "refresh_token": tokens["refresh_token"]}, auth=rp)
    assert r.status_code == 200
    r = client.get("/userinfo", headers=bearer(r.get_json()["access_token"]))
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]


def introspect(http, token, auth, **extra):
    return http.post("/introspect", data={"token": token, **extra}, auth=auth)


def test_introspection_of_access_and_refresh_tokens(rp, issued, client):
    r = introspect(client, issued["access_token"], rp)
    body = r.get_json()
    assert body["active"] is True and body["client_id"] == rp[0]
    assert body["scope"] == "openid profile phone" and body["token_type"] == "Bearer"
    body = introspect(client, issued["refresh_token"], rp,
                      token_type_hint="refresh_token").get_json()
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert introspect(client, "garbage", rp).get_json() == {"active": False}


def test_a_client_learns_nothing_about_another_clients_tokens(app, issued, client):
    with app.app_context():
        other = f.rp(name="Nosy")
    assert introspect(client, issued["access_token"], other).get_json() == {"active": False}
    assert introspect(client, issued["refresh_token"], other).get_json() == {"active": False}


def test_introspection_requires_client_authentication(rp, issued, client):
    r = introspect(client, issued["access_token"], (rp[0], "wrong"))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    r = client.post("/introspect", data={}, auth=rp)
    assert r.get_json()["error"] == "invalid_request"


def test_revoking_a_refresh_token_revokes_the_family(rp, issued, client):
    r = client.post("/revoke", data={"token": issued["refresh_token"]}, auth=rp)
    assert r.status_code == 200
    assert introspect(client, issued["refresh_token"], rp).get_json() == {"active": False}
    assert introspect(client, issued["access_token"], rp).get_json() == {"active": False}
    r = client.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": issued["refresh_token"]}, auth=rp)
    assert r.get_json()["error"] == "invalid_grant"


def test_revoking_an_access_token(rp, issued, client):
    assert client.post("/revoke", data={"token": issued["access_token"]},
                       auth=rp).status_code == 200
    assert introspect(client, issued["access_token"], rp).get_json() == {"active": False}
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 401
    # unknown tokens: 200 per RFC 7009 2.2
    assert client.post("/revoke", data={"token": "unknown"}, auth=rp).status_code == 200


def test_suspending_a_client_stops_its_tokens_at_once(app, rp, issued, client):
    from clients.models import Client
    from idp.extensions import db

    with app.app_context():
        Client.query.filter_by(client_id=rp[0]).one().status = "suspended"
        db.session.commit()
    assert client.get("/userinfo", headers=bearer(issued["access_token"])).status_code == 401
