"""Token endpoint: code exchange, PKCE, replay, expiry, client authentication, refresh
rotation, client credentials, private_key_jwt."""

import base64
import json
import time

import pytest
from freezegun import freeze_time
from joserfc import jwt
from joserfc.jwk import ECKey

from tests import factories as f
from tests.conftest import ISSUER
from tests.factories import claims_of


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user()
        return f.rp(grant_types=("authorization_code", "refresh_token"))


@pytest.fixture
def flow(client):
    return f.Flow(client)


def get_code(flow, client_id, **overrides):
    verifier, challenge = f.pkce()
    params = f.authorize_params(client_id, challenge, **overrides)
    return flow.code(params)["code"], verifier, params


def exchange(http, code, verifier, auth=None, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": f.REDIRECT_URI,
            "code_verifier": verifier, **extra}
    return http.post("/token", data=data, auth=auth)


def test_code_exchange_issues_id_token_access_token_and_refresh_token(app, rp, flow, client):
    code, verifier, params = get_code(flow, rp[0])
    r = exchange(client, code, verifier, auth=rp)
    assert r.status_code == 200, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "id_token",
                         "refresh_token"}
    idt = claims_of(app, body["id_token"])
    assert idt.header["alg"] == "ES256" and idt.header["kid"]
    c = idt.claims
    assert c["iss"] == ISSUER and c["aud"] == rp[0] and c["azp"] == rp[0]
    assert c["nonce"] == params["nonce"]
    assert c["acr"] == "urn:cn:gov:idp:loa:1" and c["amr"] == ["pwd"]
    assert {"sub", "exp", "iat", "auth_time", "sid", "at_hash"} <= set(c)
    assert c["exp"] - c["iat"] == 600
    at = claims_of(app, body["access_token"])
    assert at.header["typ"] == "at+jwt" and at.header["kid"]
    assert at.claims["client_id"] == rp[0] and at.claims["scope"] == "openid profile"
    assert at.claims["sub"] == c["sub"] and at.claims["iss"] == ISSUER and at.claims["jti"]
    assert at.claims["aud"] == ISSUER


def test_code_is_single_use_and_replay_revokes_what_it_issued(app, rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    first = exchange(client, code, verifier, auth=rp).get_json()
    again = exchange(client, code, verifier, auth=rp)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    r = client.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": first["refresh_token"]}, auth=rp)
    assert r.get_json()["error"] == "invalid_grant"
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + first["access_token"]})
    assert r.status_code == 401


def test_expired_code_is_refused(app, rp, flow, client):
    with freeze_time() as frozen:
        code, verifier, _ = get_code(flow, rp[0])
        frozen.tick(61)
        r = exchange(client, code, verifier, auth=rp)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"


def test_wrong_verifier_missing_verifier_and_wrong_redirect(rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, "x" * 43, auth=rp)
    assert r.get_json()["error"] == "invalid_grant"
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, None, auth=rp)
    assert r.get_json()["error"] == "invalid_request"
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, verifier, auth=rp, redirect_uri="http://127.0.0.1:9000/other")
    assert r.get_json()["error"] == "invalid_grant"


def test_code_of_another_client_is_refused(app, rp, flow, client):
    with app.app_context():
        other = f.rp(name="Other")
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, verifier, auth=other)
    assert r.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("auth", [("wrong", "secret"), "wrong-secret", None])
def test_client_authentication_failures(rp, flow, client, auth):
    code, verifier, _ = get_code(flow, rp[0])
    if auth == "wrong-secret":
        auth = (rp[0], "not-the-secret")
    r = exchange(client, code, verifier, auth=auth)
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"
    if auth is not None:
        assert r.status_code == 401


def test_client_secret_post_only_when_registered(app, flow, client):
    with app.app_context():
        f.user()
        cid, secret = f.rp(auth_method="client_secret_post")
    code, verifier, _ = get_code(flow, cid)
    r = exchange(client, code, verifier, auth=(cid, secret))
    assert r.get_json()["error"] == "invalid_client"
    code, verifier, _ = get_code(flow, cid)
    r = exchange(client, code, verifier, client_id=cid, client_secret=secret)
    assert r.status_code == 200


def test_public_client_uses_pkce_and_no_secret(app, flow, client):
    with app.app_context():
        f.user()
        cid, secret = f.rp(auth_method="none")
    assert secret is None
    code, verifier, _ = get_code(flow, cid)
    r = exchange(client, code, verifier, client_id=cid)
    assert r.status_code == 200 and "refresh_token" in r.get_json()


def test_unsupported_grant_type_and_missing_code(rp, client):
    r = client.post("/token", data={"grant_type": "password", "username": "a"}, auth=rp)
    assert r.get_json()["error"] == "unsupported_grant_type"
    r = client.post("/token", data={"grant_type": "authorization_code"}, auth=rp)
    assert r.get_json()["error"] == "invalid_request"


def test_token_endpoint_refuses_get(client):
    r = client.get("/token")
    assert r.status_code == 405


def refresh(http, token, auth, **extra):
    return http.post("/token", data={"grant_type": "refresh_token", "refresh_token": token,
                                     **extra}, auth=auth)


def test_refresh_rotates_and_keeps_the_original_login(app, rp, flow, client):
    with freeze_time() as frozen:
        code, verifier, _ = get_code(flow, rp[0])
        first = exchange(client, code, verifier, auth=rp).get_json()
        frozen.tick(300)
        r = refresh(client, first["refresh_token"], rp)
        assert r.status_code == 200, r.get_json()
        second = r.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    a, b = claims_of(app, first["id_token"]).claims, claims_of(app, second["id_token"]).claims
    assert b["auth_time"] == a["auth_time"] and b["sid"] == a["sid"] and b["sub"] == a["sub"]
    assert b["iat"] == a["iat"] + 300 and "nonce" not in b


def test_refresh_reuse_revokes_the_whole_family(app, rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    first = exchange(client, code, verifier, auth=rp).get_json()
    second = refresh(client, first["refresh_token"], rp).get_json()
    reuse = refresh(client, first["refresh_token"], rp)
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    assert refresh(client, second["refresh_token"], rp).get_json()["error"] == "invalid_grant"
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + second["access_token"]})
    assert r.status_code == 401


def test_refresh_scope_can_narrow_but_not_widen(rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    first = exchange(client, code, verifier, auth=rp).get_json()
    r = refresh(client, first["refresh_token"], rp, scope="openid profile phone")
    assert r.get_json()["error"] == "invalid_scope"
    r = refresh(client, first["refresh_token"], rp, scope="openid")
    assert r.status_code == 200 and r.get_json()["scope"] == "openid"


def test_refresh_keeps_only_the_scopes_the_client_is_still_registered_for(app, rp, flow,
                                                                           client):
    """An operator who takes a scope away from a platform (admin, id_number, phone…) takes
    it from its refresh tokens too, at their next use: the refreshed tokens carry what is
    left; asking for the scope taken away is ``invalid_scope``."""
    from clients import service

    code, verifier, _ = get_code(flow, rp[0], scope="openid profile phone")
    first = exchange(client, code, verifier, auth=rp).get_json()
    assert first["scope"] == "openid profile phone"
    with app.app_context():
        service.update_client(rp[0], {"scope": "openid profile"}, actor="admin:1")
    r = refresh(client, first["refresh_token"], rp, scope="openid phone")
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_scope"
    r = refresh(client, first["refresh_token"], rp)
    assert r.status_code == 200, r.get_json()
    second = r.get_json()
    assert second["scope"] == "openid profile"
    assert claims_of(app, second["access_token"]).claims["scope"] == "openid profile"
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + second["access_token"]})
    assert r.status_code == 200 and "phone_number" not in r.get_json()
    r = refresh(client, second["refresh_token"], rp)
    assert r.status_code == 200 and r.get_json()["scope"] == "openid profile"


def test_refresh_token_of_another_client_and_expired_family(app, rp, flow, client):
    with app.app_context():
        other = f.rp(name="Other")
    with freeze_time() as frozen:
        code, verifier, _ = get_code(flow, rp[0])
        first = exchange(client, code, verifier, auth=rp).get_json()
        assert refresh(client, first["refresh_token"], other).get_json()["error"] == (
            "invalid_grant")
        frozen.tick(30 * 24 * 3600 + 1)
        assert refresh(client, first["refresh_token"], rp).get_json()["error"] == (
            "invalid_grant")


def test_client_credentials_issues_a_jwt_for_the_client(app, client):
    with app.app_context():
        cid, secret = f.rp(grant_types=("client_credentials",), redirect_uris=(),
                           scope="api.read api.write")
    r = client.post("/token", data={"grant_type": "client_credentials", "scope": "api.read"},
                    auth=(cid, secret))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert "refresh_token" not in body and "id_token" not in body
    at = claims_of(app, body["access_token"]).claims
    assert at["sub"] == cid and at["client_id"] == cid and at["scope"] == "api.read"
    r = client.post("/token", data={"grant_type": "client_credentials", "scope": "admin"},
                    auth=(cid, secret))
    assert r.get_json()["error"] == "invalid_scope"


def test_client_credentials_refused_to_a_client_not_registered_for_it(rp, client):
    r = client.post("/token", data={"grant_type": "client_credentials"}, auth=rp)
    assert r.get_json()["error"] == "unauthorized_client"


# --- private_key_jwt -------------------------------------------------------------------------

@pytest.fixture
def pkjwt(app):
    key = ECKey.generate_key("P-256", auto_kid=True)
    with app.app_context():
        f.user()
        cid, _ = f.rp(auth_method="private_key_jwt",
                      jwks={"keys": [key.as_dict(private=False)]})
    return cid, key


def assertion(cid, key, **claims):
    now = int(time.time())
    body = {"iss": cid, "sub": cid, "aud": ISSUER + "/token", "iat": now, "exp": now + 60,
            "jti": f"jti-{time.time_ns()}"}
    body.update(claims)
    return jwt.encode({"alg": "ES256", "kid": key.kid}, body, key)


def pk_exchange(http, code, verifier, token):
    return exchange(http, code, verifier, client_assertion=token,
                    client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")


def test_private_key_jwt_authenticates(pkjwt, flow, client):
    cid, key = pkjwt
    code, verifier, _ = get_code(flow, cid)
    r = pk_exchange(client, code, verifier, assertion(cid, key))
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("case", ["wrong_key", "expired", "wrong_audience", "replayed_jti",
                                  "no_jti", "iss_sub_differ"])
def test_private_key_jwt_failures(pkjwt, flow, client, case):
    cid, key = pkjwt
    token = assertion(cid, key)
    if case == "wrong_key":
        token = assertion(cid, ECKey.generate_key("P-256", auto_kid=True))
    elif case == "expired":
        token = assertion(cid, key, exp=int(time.time()) - 120, iat=int(time.time()) - 300)
    elif case == "wrong_audience":
        token = assertion(cid, key, aud="https://other.example/token")
    elif case == "replayed_jti":
        code, verifier, _ = get_code(flow, cid)
        assert pk_exchange(client, code, verifier, token).status_code == 200
    elif case == "no_jti":
        token = assertion(cid, key, jti=None)
    elif case == "iss_sub_differ":
        token = assertion(cid, key, iss="someone-else")
    code, verifier, _ = get_code(flow, cid)
    r = pk_exchange(client, code, verifier, token)
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
@pytest.mark.parametrize("part", ["header", "payload"])
def test_an_assertion_nested_deeper_than_the_json_parser_goes_is_invalid_client(client, path,
                                                                                part):
    nested = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).rstrip(b"=").decode()
    parts = {"header": "eyJhbGciOiJFUzI1NiJ9", "payload": "e30", part: nested}
    r = client.post(path, data={
        "grant_type": "client_credentials", "token": "x",
        "client_assertion": f"{parts['header']}.{parts['payload']}.c2ln",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client", r.get_json()


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_an_assertion_naming_a_lone_surrogate_is_invalid_client(pkjwt, client, path):
    """The client is looked up by the assertion's ``sub`` before its signature can be checked:
    a ``sub`` no client_id can be (half of a UTF-16 pair, which JSON may escape) names none."""
    def part(value):  # JSON escapes the surrogate ("\\ud800"), as a forger's would
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    token = ".".join([part({"alg": "ES256"}), part({
        "iss": "\ud800", "sub": "\ud800", "aud": ISSUER + "/token", "exp": now + 60,
        "jti": "j"}), "c2ln"])
    r = client.post(path, data={
        "grant_type": "client_credentials", "token": "x", "client_assertion": token,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client", r.get_json()


def test_private_key_jwt_client_cannot_use_a_secret(pkjwt, flow, client):
    cid, _key = pkjwt
    code, verifier, _ = get_code(flow, cid)
    r = exchange(client, code, verifier, auth=(cid, "guess"))
    assert r.get_json()["error"] == "invalid_client"


def test_private_key_jwt_with_rsa_and_a_pinned_algorithm(app, flow, client):
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, auto_kid=True)
    with app.app_context():
        f.user()
        cid, _ = f.rp(auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]})
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": ISSUER, "iat": now, "exp": now + 60}
    for alg, status in (("PS256", 200), ("RS512", 400)):
        code, verifier, _ = get_code(flow, cid)
        token = jwt.encode({"alg": alg, "kid": key.kid}, {**claims, "jti": alg}, key,
                           algorithms=[alg])
        r = pk_exchange(client, code, verifier, token)
        assert r.status_code == status, r.get_json()
