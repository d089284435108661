"""Discovery says what the server enforces, no more and no less: every value it advertises is
accepted where it is used (registration, /authorize, /token, /introspect, /revoke, the tokens
issued), and values it does not advertise are refused there."""

import json
import re
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from joserfc.jwk import OctKey
from joserfc.jwk import RSAKey

from clients import service
from tests import factories as f
from tests.conftest import ISSUER
from tests.integration.test_sso import tokens_for

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EC_KEY = ECKey.generate_key("P-256", auto_kid=True)
RSA_KEY = RSAKey.generate_key(2048, auto_kid=True)
KEY_FOR = {"ES256": EC_KEY, "RS256": RSA_KEY, "PS256": RSA_KEY}
JWKS = {"keys": [EC_KEY.as_dict(private=False), RSA_KEY.as_dict(private=False)]}


@pytest.fixture
def meta(client):
    return client.get("/.well-known/openid-configuration").get_json()


def registration_error(app, **metadata):
    """The RFC 7591 error of registering a client with ``metadata``, None when it registers."""
    metadata = {"client_name": "Probe", "redirect_uris": [f.REDIRECT_URI], "scope": "openid",
                **metadata}
    with app.app_context():
        try:
            service.register_client(metadata, actor="test")
        except service.ClientValidationError as exc:
            return exc.error
    return None


def authorize_error(client, client_id, **overrides):
    """The error /authorize redirects with, None when it goes on to the login."""
    params = f.authorize_params(client_id, f.pkce()[1], **overrides)
    r = client.get("/authorize", query_string=params)
    if r.status_code == 303 and r.headers["Location"].startswith("/interaction/"):
        return None
    assert r.status_code == 302 and r.headers["Location"].startswith(f.REDIRECT_URI + "?"), (
        r.status_code, r.get_data(as_text=True)[:300])
    return f.query(r.headers["Location"])["error"]


@pytest.fixture
def rp(app, meta):
    """A platform registered for every advertised scope."""
    with app.app_context():
        f.user(email="zhang@example.cn")
        return f.rp(scope=" ".join(meta["scopes_supported"]))


# --- /authorize and registration ---------------------------------------------------------------

def test_scopes(app, meta, rp, client):
    for scope in meta["scopes_supported"]:
        assert registration_error(app, scope=f"openid {scope}") is None, scope
        assert authorize_error(client, rp[0], scope=f"openid {scope}") is None, scope
    for scope in ("payments", "openid2", "address"):
        assert registration_error(app, scope=f"openid {scope}") == "invalid_client_metadata"
        assert authorize_error(client, rp[0], scope=f"openid {scope}") == "invalid_scope"


def test_response_types(app, meta, rp, client):
    for response_type in meta["response_types_supported"]:
        assert registration_error(app, response_types=[response_type]) is None
        assert authorize_error(client, rp[0], response_type=response_type) is None
    for response_type in ("token", "id_token", "code id_token", "code token", "none"):
        assert response_type not in meta["response_types_supported"]
        assert registration_error(app, response_types=[response_type]) == (
            "invalid_client_metadata")
        assert authorize_error(client, rp[0], response_type=response_type) == (
            "unsupported_response_type")


def test_response_modes(meta, rp, client):
    for mode in meta["response_modes_supported"]:
        assert authorize_error(client, rp[0], response_mode=mode) is None
    for mode in ("fragment", "form_post", "query.jwt", "jwt"):
        assert authorize_error(client, rp[0], response_mode=mode) == "invalid_request"


def test_prompts(meta, rp, client):
    for prompt in meta["prompt_values_supported"]:
        # accepted: the login goes on (prompt=none: nobody is logged in, so login_required)
        expected = "login_required" if prompt == "none" else None
        assert authorize_error(client, rp[0], prompt=prompt) == expected, prompt
    for prompt in ("create", "sometimes"):
        assert authorize_error(client, rp[0], prompt=prompt) == "invalid_request"


def test_code_challenge_methods(meta, rp, client):
    for method in meta["code_challenge_methods_supported"]:
        assert authorize_error(client, rp[0], code_challenge_method=method) is None
    for method in ("plain", "S512", "s256"):
        assert authorize_error(client, rp[0], code_challenge_method=method) == "invalid_request"


def test_request_objects(meta, rp, client):
    assert meta["request_parameter_supported"] is False
    assert meta["request_uri_parameter_supported"] is False
    assert authorize_error(client, rp[0], request="eyJhbGciOiJub25lIn0.e30.") == (
        "request_not_supported")
    assert authorize_error(client, rp[0], request_uri="https://rp.example/r") == (
        "request_uri_not_supported")
    assert meta["claims_parameter_supported"] is True
    assert authorize_error(client, rp[0], claims='{"userinfo": {"name": null}}') is None


def test_authorization_details_types(meta, rp, client):
    """RFC 9396: each advertised type is accepted at /authorize, any other refused."""
    def details(kind):
        return json.dumps([{"type": kind, "matters": ["tax.declare"]}])

    for kind in meta["authorization_details_types_supported"]:
        assert authorize_error(client, rp[0], authorization_details=details(kind)) is None
    for kind in ("payment_initiation", "openid_credential", "account_information"):
        assert authorize_error(client, rp[0], authorization_details=details(kind)) == (
            "invalid_authorization_details")


def test_subject_types(app, meta):
    for subject_type in meta["subject_types_supported"]:
        assert registration_error(app, subject_type=subject_type) is None
    for subject_type in ("ephemeral", "Public"):
        assert registration_error(app, subject_type=subject_type) == "invalid_client_metadata"


def test_ui_locales(meta, rp, client):
    for locale in meta["ui_locales_supported"]:
        page = f.Flow(client).follow(client.get("/authorize", query_string=f.authorize_params(
            rp[0], f.pkce()[1], ui_locales=locale)))
        assert re.search(r'<html lang="([^"]+)"', page.get_data(as_text=True)).group(1) == locale


# --- tokens ------------------------------------------------------------------------------------

def test_id_token_signing_algorithms(app, meta, client):
    with app.app_context():
        f.user()
    for alg in meta["id_token_signing_alg_values_supported"]:
        assert registration_error(app, id_token_signed_response_alg=alg) is None
        with app.app_context():
            rp = f.rp(name=alg, id_token_alg=alg)
        id_token = tokens_for(f.Flow(client), client, rp)["id_token"]
        assert f.claims_of(app, id_token).header["alg"] == alg
    for alg in ("HS256", "none", "PS256", "ES384", "RS512"):
        assert registration_error(app, id_token_signed_response_alg=alg) == (
            "invalid_client_metadata")


def test_claims_and_acr_values(app, meta, rp, client):
    """Every claim this provider releases is one it advertises; so is every ``acr``."""
    tokens = tokens_for(f.Flow(client), client, rp, scope="openid profile phone email")
    id_token = f.claims_of(app, tokens["id_token"]).claims
    userinfo = client.get("/userinfo", headers={
        "Authorization": "Bearer " + tokens["access_token"]}).get_json()
    assert set(id_token) | set(userinfo) <= set(meta["claims_supported"])
    assert id_token["acr"] in meta["acr_values_supported"]


# --- client authentication at /token, /introspect and /revoke ---------------------------------

def assertion(client_id, alg, key, audience=ISSUER):
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
              "exp": now + 60, "jti": f"jti-{time.time_ns()}"}
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


def credentials(method, client_id, secret, alg="ES256"):
    """The request parts that authenticate ``client_id`` with ``method``."""
    if method == "client_secret_basic":
        return {"auth": (client_id, secret), "data": {}}
    if method == "client_secret_post":
        return {"data": {"client_id": client_id, "client_secret": secret}}
    if method == "private_key_jwt":
        return {"data": {"client_assertion_type": ASSERTION_TYPE,
                         "client_assertion": assertion(client_id, alg, KEY_FOR[alg])}}
    return {"data": {"client_id": client_id}}


def machine(app, method):
    """A client of ``method`` (public: authorization code; else client credentials)."""
    with app.app_context():
        if method == "none":
            return f.rp(name=method, auth_method=method)
        return f.rp(name=method, auth_method=method, redirect_uris=(), scope="reports",
                    grant_types=("client_credentials",),
                    jwks=JWKS if method == "private_key_jwt" else None)


def post(http, path, method, client_id, secret, alg="ES256", **data):
    parts = credentials(method, client_id, secret, alg)
    return http.post(path, data={**parts.pop("data"), **data}, **parts)


def test_token_endpoint_auth_methods(app, meta, client):
    with app.app_context():
        f.user()
    for method in meta["token_endpoint_auth_methods_supported"]:
        keys = {"jwks": JWKS} if method == "private_key_jwt" else {}
        assert registration_error(app, token_endpoint_auth_method=method, **keys) is None
        cid, secret = machine(app, method)
        if method == "none":  # a public client: the authorization code flow with PKCE
            verifier, challenge = f.pkce()
            code = f.Flow(client).code(f.authorize_params(cid, challenge))["code"]
            r = post(client, "/token", method, cid, secret, grant_type="authorization_code",
                     code=code, redirect_uri=f.REDIRECT_URI, code_verifier=verifier)
        else:
            r = post(client, "/token", method, cid, secret, grant_type="client_credentials")
        assert r.status_code == 200, (method, r.get_json())
    cid, secret = machine(app, "client_secret_basic")
    hs256 = jwt.encode({"alg": "HS256"}, {"iss": cid, "sub": cid, "aud": ISSUER,
                                          "exp": int(time.time()) + 60, "jti": "x"},
                       OctKey.import_key(secret), algorithms=["HS256"])
    for method in ("client_secret_jwt", "tls_client_auth", "self_signed_tls_client_auth"):
        assert method not in meta["token_endpoint_auth_methods_supported"]
        assert registration_error(app, token_endpoint_auth_method=method) == (
            "invalid_client_metadata")
    r = client.post("/token", data={"grant_type": "client_credentials",
                                    "client_assertion_type": ASSERTION_TYPE,
                                    "client_assertion": hs256})  # client_secret_jwt
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("endpoint", ["introspection", "revocation"])
def test_introspection_and_revocation_auth_methods(app, meta, client, endpoint):
    path = {"introspection": "/introspect", "revocation": "/revoke"}[endpoint]
    advertised = meta[f"{endpoint}_endpoint_auth_methods_supported"]
    for method in meta["token_endpoint_auth_methods_supported"]:
        cid, secret = machine(app, method)
        r = post(client, path, method, cid, secret, token="not-a-token")
        if method in advertised:
            assert r.status_code == 200, (method, r.get_json())
        else:
            assert r.status_code == 401 and r.get_json()["error"] == "invalid_client", method


def test_client_assertion_algorithms(app, meta, client):
    cid, secret = machine(app, "private_key_jwt")
    endpoints = {"token": ("/token", {"grant_type": "client_credentials"}),
                 "introspection": ("/introspect", {"token": "not-a-token"}),
                 "revocation": ("/revoke", {"token": "not-a-token"})}
    for name, (path, data) in endpoints.items():
        advertised = meta[f"{name}_endpoint_auth_signing_alg_values_supported"]
        for alg in advertised:
            r = post(client, path, "private_key_jwt", cid, secret, alg, **data)
            assert r.status_code == 200, (name, alg, r.get_json())
        for alg, key in (("RS512", RSA_KEY), ("PS384", RSA_KEY), ("ES384", ECKey.generate_key(
                "P-384", auto_kid=True)), ("HS256", OctKey.generate_key(256, auto_kid=True))):
            assert alg not in advertised
            r = client.post(path, data={**data, "client_assertion_type": ASSERTION_TYPE,
                                        "client_assertion": assertion(cid, alg, key)})
            assert r.status_code in (400, 401), (name, alg)
            assert r.get_json()["error"] == "invalid_client"


def test_grant_types(app, meta, client):
    with app.app_context():
        f.user()
        rp = f.rp(grant_types=("authorization_code", "refresh_token"))
        robot = f.rp(name="robot", redirect_uris=(), grant_types=("client_credentials",),
                     scope="reports")
    tokens = tokens_for(f.Flow(client), client, rp)  # authorization_code
    requests = {
        "refresh_token": (rp, {"refresh_token": tokens["refresh_token"]}),
        "client_credentials": (robot, {}),
    }
    for grant_type in meta["grant_types_supported"]:
        assert registration_error(app, grant_types=[grant_type, "authorization_code"]) is None
        if grant_type in requests:
            auth, data = requests[grant_type]
            r = client.post("/token", auth=auth, data={"grant_type": grant_type, **data})
            assert r.status_code == 200, (grant_type, r.get_json())
    assert "authorization_code" in meta["grant_types_supported"]
    for grant_type in ("password", "implicit", "urn:ietf:params:oauth:grant-type:device_code",
                       "urn:ietf:params:oauth:grant-type:jwt-bearer",
                       "urn:ietf:params:oauth:grant-type:token-exchange"):
        assert registration_error(app, grant_types=[grant_type]) == "invalid_client_metadata"
        r = client.post("/token", auth=rp, data={"grant_type": grant_type})
        assert r.status_code == 400 and r.get_json()["error"] == "unsupported_grant_type"


# --- logout ------------------------------------------------------------------------------------

def test_logout_endpoint_and_channels(app, meta, client):
    """The end_session_endpoint answers GET and POST; platforms may register exactly the
    logout channels advertised, and the session id goes with a logout on each channel as
    advertised."""
    from tests.logout_receiver import LogoutReceiver

    assert meta["end_session_endpoint"] == ISSUER + "/logout"
    for method in ("GET", "POST"):
        assert client.open("/logout", method=method).status_code == 200
    uris = {"backchannel": "http://127.0.0.1:9000/bc", "frontchannel": "http://127.0.0.1:9000/fc"}
    for channel, uri in uris.items():
        accepted = registration_error(app, **{f"{channel}_logout_uri": uri}) is None
        assert accepted is meta[f"{channel}_logout_supported"] is True
        assert registration_error(app, **{f"{channel}_logout_session_required": True}) is None
    receiver = LogoutReceiver()
    try:
        with app.app_context():
            f.user()
            rp = f.rp(backchannel_logout_uri=receiver.url, frontchannel_logout_uri=uris[
                "frontchannel"])
        id_token = tokens_for(f.Flow(client), client, rp)["id_token"]
        sid = f.claims_of(app, id_token).claims["sid"]
        done = client.get("/logout", query_string={"id_token_hint": id_token}, buffered=True)
        page = client.get(done.headers["Location"]).get_data(as_text=True)
        logout_token = f.claims_of(app, receiver.tokens()[0]).claims
    finally:
        receiver.stop()
    assert (logout_token.get("sid") == sid) is meta["backchannel_logout_session_supported"]
    assert (f"sid={sid}" in page and "iss=" in page) is (
        meta["frontchannel_logout_session_supported"])
