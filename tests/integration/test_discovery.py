"""Discovery (OIDC Discovery 3, RFC 8414) and the JWKS."""


import pytest

from tests.conftest import ISSUER


def test_openid_configuration_is_complete_and_truthful(client):
    r = client.get("/.well-known/openid-configuration")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "max-age=" in r.headers["Cache-Control"]
    m = r.get_json()
    assert m["issuer"] == ISSUER
    for key, path in (("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                      ("userinfo_endpoint", "/userinfo"), ("jwks_uri", "/jwks.json"),
                      ("introspection_endpoint", "/introspect"),
                      ("revocation_endpoint", "/revoke"), ("end_session_endpoint", "/logout")):
        assert m[key] == ISSUER + path
        assert client.open(path, method="OPTIONS").status_code != 404
    assert m["response_types_supported"] == ["code"]
    assert m["code_challenge_methods_supported"] == ["S256"]
    assert m["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert m["subject_types_supported"] == ["pairwise", "public"]
    assert m["authorization_response_iss_parameter_supported"] is True
    assert "urn:cn:gov:idp:loa:1" in m["acr_values_supported"]
    assert set(m["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert m["request_parameter_supported"] is False


def test_rfc8414_metadata_is_served_too(client):
    a = client.get("/.well-known/oauth-authorization-server").get_json()
    b = client.get("/.well-known/openid-configuration").get_json()
    assert a == b


def test_jwks_publishes_public_keys_only_with_kid(client):
    r = client.get("/jwks.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "max-age=" in r.headers["Cache-Control"]
    keys = r.get_json()["keys"]
    assert {k["alg"] for k in keys} == {"ES256", "RS256"}
    assert len(keys) == 4  # active + next for each algorithm
    for k in keys:
        assert k["kid"] and k["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(k)
    rsa = [k for k in keys if k["kty"] == "RSA"]
    import base64

    assert all(len(base64.urlsafe_b64decode(k["n"] + "==")) * 8 >= 2048 for k in rsa)


def test_unknown_path_is_a_json_404_for_apis(client):
    r = client.get("/.well-known/nothing")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"


def test_browser_clients_may_call_the_token_endpoint_cross_origin(client):
    r = client.options("/token", headers={"Origin": "https://spa.gov.example",
                                          "Access-Control-Request-Method": "POST"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert client.get("/jwks.json").headers["Access-Control-Allow-Origin"] == "*"
    # pages that carry the session cookie are not readable cross-origin
    assert "Access-Control-Allow-Origin" not in client.get("/authorize").headers


def test_hsts_only_under_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/jwks.json").headers


@pytest.mark.config(ISSUER="https://idp.gov.example")
def test_hsts_under_https(app, client):
    r = client.get("/jwks.json", base_url="https://idp.gov.example")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
