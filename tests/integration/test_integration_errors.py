"""What a platform team is told on its first day of integration: each mistake keeps its RFC
error code and its description says what to fix (exact texts), never a secret."""

import time
import uuid

import pytest
from freezegun import freeze_time
from joserfc import jwt
from joserfc.jwk import ECKey

from clients import service
from tests import factories as f
from tests.conftest import ISSUER
from tests.integration.test_token import exchange
from tests.integration.test_token import get_code

NO_AUTH = ("No client authentication was sent: send the client_id and the credentials of the "
           "method the client is registered for (one of client_secret_basic, "
           "client_secret_post, private_key_jwt, none).")
WRONG_SECRET = ("The client_secret is not valid for this client (wrong, or expired after a "
                "secret rotation).")
PENDING = "This client is awaiting approval by a registrar; it can be used once approved."
SUSPENDED = "This client is suspended; it cannot be used until an operator activates it again."


@pytest.fixture
def rp(app):
    """A confidential client registered with the default, client_secret_basic."""
    with app.app_context():
        f.user()
        return f.rp(grant_types=("authorization_code", "refresh_token", "client_credentials"))


@pytest.fixture
def flow(client):
    return f.Flow(client)


def credentials(http, **kw):
    return http.post("/token", data={"grant_type": "client_credentials", **kw.pop("data", {})},
                     **kw)


def assert_invalid_client(r, description, secret=None, status=401):
    body = r.get_json()
    assert body == {"error": "invalid_client", "error_description": description}
    assert r.status_code == status
    if status == 401:  # RFC 6749 5.2: with a challenge
        assert description in r.headers["WWW-Authenticate"]
    if secret:
        assert secret not in r.get_data(as_text=True) + r.headers.get("WWW-Authenticate", "")


# --- Client authentication at /token --------------------------------------------------------

def test_secret_in_the_body_for_a_client_registered_for_http_basic(rp, flow, client):
    """npm openid-client 6 sends client_secret_post by default: the most common mistake."""
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, verifier, client_id=rp[0], client_secret=rp[1])
    assert_invalid_client(r, "This client is registered for client_secret_basic (HTTP Basic) "
                             "but sent client_secret_post (client_secret in the request body).",
                          secret=rp[1])


def test_http_basic_for_a_client_registered_for_the_body(app, client):
    with app.app_context():
        cid, secret = f.rp(auth_method="client_secret_post",
                           grant_types=("client_credentials",), redirect_uris=())
    r = credentials(client, auth=(cid, secret))
    assert_invalid_client(r, "This client is registered for client_secret_post (client_secret "
                             "in the request body) but sent client_secret_basic (HTTP Basic).",
                          secret=secret)


def test_client_id_alone_for_a_confidential_client(rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, verifier, client_id=rp[0])
    assert_invalid_client(r, "This client is registered for client_secret_basic (HTTP Basic) "
                             "but sent none (client_id alone, no credentials).")


def test_a_secret_for_a_public_client(app, flow, client):
    with app.app_context():
        f.user()
        cid, _ = f.rp(auth_method="none")
    code, verifier, _ = get_code(flow, cid)
    r = exchange(client, code, verifier, auth=(cid, "a-secret-it-does-not-have"))
    assert_invalid_client(r, "This client is registered for none (client_id alone, no "
                             "credentials) but sent client_secret_basic (HTTP Basic).")


def test_a_client_assertion_for_a_client_registered_for_http_basic(rp, client):
    key = ECKey.generate_key("P-256")
    now = int(time.time())
    assertion = jwt.encode({"alg": "ES256"}, {"iss": rp[0], "sub": rp[0], "aud": ISSUER,
                                              "jti": uuid.uuid4().hex, "exp": now + 60}, key)
    r = credentials(client, data={
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})
    assert_invalid_client(r, "This client is registered for client_secret_basic (HTTP Basic) "
                             "but sent private_key_jwt (a signed client_assertion).", status=400)


def test_wrong_secret_and_no_authentication_are_told_apart(rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    assert_invalid_client(exchange(client, code, verifier, auth=(rp[0], "not-the-secret")),
                          WRONG_SECRET)
    assert_invalid_client(exchange(client, code, verifier), NO_AUTH)
    # client credentials are for confidential clients: "none" is not offered there
    assert_invalid_client(credentials(client), NO_AUTH.replace(", none", ""))


def test_an_unknown_client_and_credentials_that_name_none(client):
    r = credentials(client, auth=("no-such-client", "x"))
    assert_invalid_client(r, "No client is registered with this client_id on this server.")
    r = credentials(client, headers={"Authorization": "Basic not-base64!"})
    assert_invalid_client(r, "The Authorization header is not HTTP Basic credentials: base64 of "
                             "client_id:client_secret (RFC 6749 2.3.1).")
    r = credentials(client, data={"client_secret": "x"})
    assert_invalid_client(r, "A client_secret was sent without its client_id.")


@pytest.mark.parametrize("status, description", [("pending", PENDING),
                                                  ("suspended", SUSPENDED)])
def test_a_client_that_is_not_active_is_told_why(app, rp, client, status, description):
    with app.app_context():
        service.set_status(rp[0], status, actor="admin:1")
    assert_invalid_client(credentials(client, auth=rp), description, secret=rp[1])
    r = client.post("/revoke", data={"token": "x"}, auth=rp)
    assert_invalid_client(r, description)


def test_introspection_names_the_methods_it_accepts(app, client):
    with app.app_context():
        cid, _ = f.rp(auth_method="none")
    r = client.post("/introspect", data={"token": "x", "client_id": cid})
    assert_invalid_client(r, "This client is registered for none (client_id alone, no "
                             "credentials), which this endpoint does not accept (it accepts "
                             "client_secret_basic, client_secret_post, private_key_jwt).")


# --- The authorization code ---------------------------------------------------------------

def test_a_reused_code_says_its_tokens_were_revoked(rp, flow, client):
    code, verifier, _ = get_code(flow, rp[0])
    first = exchange(client, code, verifier, auth=rp).get_json()
    r = exchange(client, code, verifier, auth=rp)
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_grant",
        "error_description": "The authorization code was already used; the tokens issued for "
                             "it have been revoked."}
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + first["access_token"]})
    assert r.status_code == 401


def test_unknown_expired_and_foreign_codes(app, rp, flow, client):
    r = exchange(client, "never-issued", "x" * 43, auth=rp)
    assert r.get_json() == {"error": "invalid_grant", "error_description": (
        "The authorization code is unknown or has expired (codes are valid for 60 seconds, "
        "once).")}
    with freeze_time() as frozen:
        code, verifier, _ = get_code(flow, rp[0])
        frozen.tick(61)
        r = exchange(client, code, verifier, auth=rp)
    assert r.get_json()["error_description"] == ("The authorization code has expired (codes "
                                                 "are valid for 60 seconds).")
    with app.app_context():
        other = f.rp(name="Other")
    code, verifier, _ = get_code(flow, rp[0])
    r = exchange(client, code, verifier, auth=other)
    assert r.get_json() == {"error": "invalid_grant", "error_description":
                            "The authorization code was issued to another client."}


# --- The authorization request ------------------------------------------------------------

def redirected_error(client, params):
    r = client.get("/authorize", query_string=params)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert r.headers["Location"].startswith(f.REDIRECT_URI + "?")
    q = f.query(r.headers["Location"])
    return q["error"], q["error_description"]


@pytest.mark.parametrize("overrides, description", [
    ({"code_challenge": None, "code_challenge_method": None},
     "PKCE is required of every client: send code_challenge (BASE64URL of the SHA-256 of a "
     "code_verifier) with code_challenge_method=S256 (RFC 7636)."),
    ({"code_challenge_method": "plain"},
     "code_challenge_method=plain is not accepted: use S256 (RFC 9700 2.1.1)."),
    ({"code_challenge_method": None},
     "Missing code_challenge_method: send code_challenge_method=S256 (plain is not accepted)."),
    ({"code_challenge_method": "S512"}, "Unsupported code_challenge_method: use S256."),
    ({"code_challenge": "short"},
     "Invalid code_challenge: it must be 43 to 128 characters (the BASE64URL of the SHA-256 of "
     "the code_verifier)."),
    ({"nonce": None},
     "Missing nonce: this provider requires a nonce in every authorization request (a fresh "
     "random value, checked in the ID token; OpenID Connect Core 3.1.2.1)."),
])
def test_pkce_and_nonce_mistakes(rp, client, overrides, description):
    params = f.authorize_params(rp[0], f.pkce()[1], **overrides)
    assert redirected_error(client, params) == ("invalid_request", description)


@pytest.mark.parametrize("scope, description", [
    ("openid wizardry",
     "Unknown scope: wizardry (this server knows openid profile phone email offline_access "
     "id_number admin enterprise)."),
    ("openid email profile",
     "Scope not registered for this client: email (it may request openid profile phone)."),
    ("openid email wizardry",
     "Unknown scope: wizardry (this server knows openid profile phone email offline_access "
     "id_number admin enterprise). Scope not registered for this client: email (it may "
     "request openid profile phone)."),
])
def test_scopes_refused_are_named(rp, client, scope, description):
    params = f.authorize_params(rp[0], f.pkce()[1], scope=scope)
    assert redirected_error(client, params) == ("invalid_scope", description)


def test_client_credentials_names_the_scope_refused_too(rp, client):
    r = credentials(client, auth=rp, data={"scope": "admin"})
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_scope", "error_description":
            "Scope not registered for this client: admin (it may request openid profile "
            "phone)."}


def test_an_unregistered_redirect_uri_gets_a_page_naming_the_client(rp, client):
    params = f.authorize_params(rp[0], f.pkce()[1], redirect_uri="http://127.0.0.1:9000/cb/",
                                ui_locales="en")
    r = client.get("/authorize", query_string=params)
    assert r.status_code == 400 and "Location" not in r.headers
    html = r.get_data(as_text=True)
    assert ("Platform A sent you here with a return address it has not registered, so we "
            "cannot send you back. A service&#39;s return address must match a registered one "
            "exactly.") in html
    assert (f"The redirect_uri http://127.0.0.1:9000/cb/ is not registered for the client "
            f"Platform A (client_id {rp[0]}): it must match one of the client&#39;s registered "
            "redirect URIs exactly (scheme, host, port, path and query).") in html
    assert "<code>invalid_request</code>" in html
    r = client.get("/authorize", query_string={**params, "ui_locales": None})
    assert "Platform A 将您带到了一个未登记的返回地址" in r.get_data(as_text=True)


@pytest.mark.parametrize("status, summary, chinese", [
    ("pending", "Platform A is awaiting approval by the administrators of this login service, "
                "so it cannot log you in yet. Try again later.", "Platform A 正在等待"),
    ("suspended", "Platform A is suspended and cannot log you in at the moment. Contact the "
                  "service for help.", "Platform A 已被暂停"),
])
def test_a_client_that_is_not_active_gets_a_page_not_a_redirect(app, rp, client, status,
                                                                summary, chinese):
    with app.app_context():
        service.set_status(rp[0], status, actor="admin:1")
    params = f.authorize_params(rp[0], f.pkce()[1], ui_locales="en")
    r = client.get("/authorize", query_string=params)
    assert r.status_code == 400 and "Location" not in r.headers
    html = r.get_data(as_text=True)
    assert summary in html
    assert {"pending": PENDING, "suspended": SUSPENDED}[status] in html
    assert "<code>invalid_client</code>" in html
    r = client.get("/authorize", query_string={**params, "ui_locales": None})
    assert chinese in r.get_data(as_text=True)
