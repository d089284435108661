"""Dynamic client registration (RFC 7591) at /connect/register with initial access tokens, and
client configuration (RFC 7592) with the registration access token: black-box over HTTP."""

import json
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
from freezegun import freeze_time
from joserfc.jwk import ECKey

from clients import service
from tests import factories as f
from tests.conftest import ISSUER
from tests.integration.test_sso import tokens_for

REDIRECT = f.REDIRECT_URI


def issue_iat(app, **kw):
    kw = {"label": "Tax bureau", "expires_in": 3600, **kw}
    with app.app_context():
        row, token = service.issue_initial_access_token(actor="admin:1", **kw)
        return row.id, token


def register(http, token, metadata=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"client_name": "税务平台", "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile"} if metadata is None else metadata
    return http.post("/connect/register", json=body, headers=headers, **kw)


def manage(http, method, client_id, token, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.open(f"/connect/register/{client_id}", method=method, headers=headers,
                     json=body)


@pytest.fixture
def iat(app):
    """An unlimited initial access token (registrations land pending)."""
    return issue_iat(app, max_uses=None)[1]


def assert_bearer_error(r, error="invalid_token"):
    assert r.status_code == 401, r.get_data(as_text=True)
    assert r.get_json()["error"] == "invalid_token"
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    if error:
        assert f'error="{error}"' in challenge
    else:  # RFC 6750 3.1: no error code when no token was sent
        assert "error=" not in challenge


# --- Initial access tokens --------------------------------------------------------------------

def test_registration_needs_a_usable_initial_access_token(app, client):
    assert_bearer_error(register(client, None), error=None)
    assert_bearer_error(register(client, "garbage"))
    r = client.post("/connect/register", json={}, headers={"Authorization": "Basic eDp5"})
    assert_bearer_error(r, error=None)
    _id, revoked = issue_iat(app)
    with app.app_context():
        service.revoke_initial_access_token(_id, actor="admin:1")
    assert_bearer_error(register(client, revoked))


def test_an_expired_initial_access_token_is_refused(app, client):
    with freeze_time("2026-12-01 08:00:00") as frozen:
        _id, token = issue_iat(app, expires_in=600, max_uses=None)
        assert register(client, token).status_code == 201
        frozen.tick(601)
        assert_bearer_error(register(client, token))


def test_a_single_use_token_is_used_up_but_not_by_a_refused_request(app, client):
    _id, token = issue_iat(app)  # max_uses=1
    r = register(client, token, {"client_name": "X", "redirect_uris": ["http://x.example/cb"]})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_redirect_uri"
    assert register(client, token).status_code == 201
    assert_bearer_error(register(client, token))
    with app.app_context():
        assert db_iat(_id).uses == 1


def test_an_initial_access_token_names_only_known_scopes(app):
    """A token's scopes bound what its clients may have: a misspelt or unknown one is refused
    when the token is issued (command line and admin API alike), not silently kept."""
    from clients.models import InitialAccessToken
    from tests.integration.test_admin_api import Api
    from tests.integration.test_admin_api import client_token

    r = app.test_cli_runner().invoke(args=[
        "clients", "iat", "create", "--label", "Tax bureau", "--expires-in", "3600",
        "--scope", "openid wizardry", "--json"])
    assert r.exit_code != 0 and "unknown scope(s): wizardry" in r.output
    _cid, token = client_token(app, "client_registrar")
    r = Api(app, token).post("/initial-access-tokens", json={
        "label": "Tax bureau", "expires_in": 3600, "scopes": "openid profile wizardry"})
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_request", "error_description": "unknown scope(s): wizardry"}
    with app.app_context():
        assert InitialAccessToken.query.count() == 0
    r = app.test_cli_runner().invoke(args=[
        "clients", "iat", "create", "--label", "Tax bureau", "--expires-in", "3600",
        "--scope", "openid  profile openid", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["scopes"] == "openid profile"


def db_iat(token_id):
    from clients.models import InitialAccessToken
    from idp.extensions import db

    return db.session.get(InitialAccessToken, token_id)


def test_a_valid_token_registers_a_pending_client(app, client, iat):
    r = register(client, iat, {
        "client_name": "税务平台",
        "redirect_uris": ["https://tax.gov.example/cb", "https://tax.gov.example/cb2"],
        "post_logout_redirect_uris": ["https://tax.gov.example/bye"],
        "contacts": ["ops@tax.gov.example"], "logo_uri": "https://tax.gov.example/logo.png",
        "policy_uri": "https://tax.gov.example/privacy", "tos_uri": "https://tax.gov.example/tos",
        "client_uri": "https://tax.gov.example/", "software_id": "tax-portal",
        "software_version": "2.1", "scope": "openid profile phone",
        "grant_types": ["authorization_code", "refresh_token"],
        "an_extension_we_do_not_know": "ignored",  # RFC 7591 2
        "skip_consent": True, "min_loa": 4,  # policy: the operator's, not the registrant's
    })
    assert r.status_code == 201, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["status"] == "pending"
    assert len(body["client_secret"]) >= 43 and body["client_secret_expires_at"] == 0
    assert body["registration_client_uri"] == f"{ISSUER}/connect/register/{body['client_id']}"
    assert len(body["registration_access_token"]) >= 43
    assert body["client_id_issued_at"] > 0
    assert body["redirect_uris"] == ["https://tax.gov.example/cb", "https://tax.gov.example/cb2"]
    assert body["response_types"] == ["code"] and body["token_endpoint_auth_method"] == (
        "client_secret_basic")
    assert body["contacts"] == ["ops@tax.gov.example"] and body["software_id"] == "tax-portal"
    assert "an_extension_we_do_not_know" not in body
    assert body["skip_consent"] is False and body["min_loa"] == 1
    assert "client_secret_hash" not in json.dumps(body)
    # pending: no login, the error page (never a redirect to an unapproved client)
    verifier, challenge = f.pkce()
    r = client.get("/authorize", query_string=f.authorize_params(body["client_id"], challenge))
    assert r.status_code == 400 and "Location" not in r.headers
    assert "invalid_client" in r.get_data(as_text=True)
    r = client.post("/token", data={"grant_type": "authorization_code", "code": "x",
                                    "redirect_uri": REDIRECT, "code_verifier": "y" * 43},
                    auth=(body["client_id"], body["client_secret"]))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"


def test_approval_then_login_works(app, client, iat):
    body = register(client, iat).get_json()
    with app.app_context():
        f.user()
        service.set_status(body["client_id"], "active", actor="admin:1")
    tokens = tokens_for(f.Flow(client), client, (body["client_id"], body["client_secret"]))
    assert tokens["access_token"] and tokens["id_token"] and tokens["refresh_token"]


def test_an_auto_approving_token_registers_an_active_client_usable_at_once(app, client):
    _id, token = issue_iat(app, auto_approve=True, scopes="openid profile phone")
    body = register(client, token, {"client_name": "Platform", "redirect_uris": [REDIRECT],
                                    "grant_types": ["authorization_code", "refresh_token"],
                                    "scope": "openid profile phone"}).get_json()
    assert body["status"] == "active"
    with app.app_context():
        f.user()
    tokens = tokens_for(f.Flow(client), client, (body["client_id"], body["client_secret"]),
                        scope="openid profile phone")
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert r.status_code == 200 and r.get_json()["phone_number"] == "+8613800138000"
    r = client.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]},
                    auth=(body["client_id"], body["client_secret"]))
    assert r.status_code == 200


def test_the_initial_access_token_bounds_the_scopes(app, client):
    _id, token = issue_iat(app, scopes="openid profile", max_uses=None)
    r = register(client, token, {"client_name": "X", "redirect_uris": [REDIRECT],
                                 "scope": "openid profile phone"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    assert "phone" in r.get_json()["error_description"]
    # and no made-up scopes without a limit either
    _id, token = issue_iat(app, max_uses=None)
    r = register(client, token, {"client_name": "X", "grant_types": ["client_credentials"],
                                 "scope": "wizardry"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"


def test_the_enterprise_scope_needs_a_token_that_names_it(app, client):
    """Acting for enterprises (credit codes, roles, the matters a person may handle) is for
    platforms a registrar chose, as the admin and id_number scopes are: a token without
    scopes registers no client for it, neither at registration nor by a later change."""
    _id, token = issue_iat(app, auto_approve=True, max_uses=None)
    r = register(client, token, {"client_name": "X", "redirect_uris": [REDIRECT],
                                 "scope": "openid enterprise"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    assert "enterprise" in r.get_json()["error_description"]
    body = register(client, token).get_json()
    r = manage(client, "PUT", body["client_id"], body["registration_access_token"], {
        "client_id": body["client_id"], "client_name": "X", "redirect_uris": [REDIRECT],
        "scope": "openid profile enterprise"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    _id, named = issue_iat(app, auto_approve=True, scopes="openid profile enterprise")
    r = register(client, named, {"client_name": "X", "redirect_uris": [REDIRECT],
                                 "scope": "openid enterprise"})
    assert r.status_code == 201 and r.get_json()["scope"] == "openid enterprise"


@pytest.mark.config(CLIENT_REGISTRATION_PER_TOKEN_PER_HOUR=2)
def test_registrations_are_rate_limited_per_token(app, client, iat):
    assert register(client, iat).status_code == 201
    assert register(client, iat).status_code == 201
    r = register(client, iat)
    assert r.status_code == 429 and r.get_json()["error"] == "slow_down"
    assert int(r.headers["Retry-After"]) > 0
    other = issue_iat(app)[1]
    assert register(client, other).status_code == 201  # the limit is per token


# --- Validation: RFC 7591 error codes ---------------------------------------------------------

EC_PUBLIC = ECKey.generate_key("P-256", private=True)
PRIVATE_JWKS = {"keys": [EC_PUBLIC.as_dict(private=True, kid="k1")]}
PUBLIC_JWKS = {"keys": [EC_PUBLIC.as_dict(private=False, kid="k1")]}
BASE = {"client_name": "X", "redirect_uris": [REDIRECT]}


@pytest.mark.parametrize("changes, error", [
    ({"redirect_uris": ["http://gov.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://gov.example/cb#top"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://*.gov.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["http://127.0.0.1:99999/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://gov.example:abc/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://user:pw@gov.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://gov.example/a b"]}, "invalid_redirect_uri"),
    ({"redirect_uris": "https://gov.example/cb"}, "invalid_redirect_uri"),
    ({"redirect_uris": [f"https://gov.example/{i}" for i in range(21)]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://gov.example/" + "a" * 500]}, "invalid_redirect_uri"),
    ({"redirect_uris": []}, "invalid_redirect_uri"),
    # a private-use scheme only for a native public client (RFC 8252 7.1)
    ({"redirect_uris": ["com.example.app:/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["com.example.app:/cb"], "application_type": "native"},
     "invalid_redirect_uri"),
    ({"post_logout_redirect_uris": ["http://gov.example/bye"]}, "invalid_client_metadata"),
    ({"response_types": ["token"]}, "invalid_client_metadata"),
    ({"response_types": ["code"], "grant_types": ["client_credentials"]},
     "invalid_client_metadata"),
    ({"response_types": [], "grant_types": ["authorization_code"]}, "invalid_client_metadata"),
    ({"grant_types": ["password"]}, "invalid_client_metadata"),
    ({"grant_types": ["refresh_token"]}, "invalid_client_metadata"),
    ({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
     "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "private_key_jwt", "jwks": PUBLIC_JWKS,
      "jwks_uri": "https://gov.example/jwks"}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "private_key_jwt", "jwks": PRIVATE_JWKS},
     "invalid_client_metadata"),
    ({"jwks": {"keys": []}}, "invalid_client_metadata"),
    ({"jwks_uri": "http://gov.example/jwks"}, "invalid_client_metadata"),
    # URLs that are no URLs (a bracket left open, a port that is no port): refused, not a 500
    ({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://[::1/jwks"},
     "invalid_client_metadata"),
    ({"sector_identifier_uri": "https://[gov.example]/s.json"}, "invalid_client_metadata"),
    ({"backchannel_logout_uri": "http://[::1/bc"}, "invalid_client_metadata"),
    ({"backchannel_logout_uri": "https://政府.cn:99999/bc"}, "invalid_client_metadata"),
    ({"logo_uri": "https://政府.cn:abc/logo.png"}, "invalid_client_metadata"),
    ({"client_uri": "https://政府.cn:99999/"}, "invalid_client_metadata"),
    ({"logo_uri": "http://gov.example/logo.png"}, "invalid_client_metadata"),
    ({"policy_uri": "ftp://gov.example/privacy"}, "invalid_client_metadata"),
    ({"tos_uri": "http://gov.example/tos"}, "invalid_client_metadata"),
    ({"client_uri": "gov.example"}, "invalid_client_metadata"),
    ({"contacts": ["not an email"]}, "invalid_client_metadata"),
    ({"contacts": "ops@gov.example"}, "invalid_client_metadata"),
    ({"contacts": [f"ops{i}@gov.example" for i in range(11)]}, "invalid_client_metadata"),
    ({"client_name": "x" * 201}, "invalid_client_metadata"),
    ({"client_name": 7}, "invalid_client_metadata"),
    ({"subject_type": "global"}, "invalid_client_metadata"),
    ({"id_token_signed_response_alg": "HS256"}, "invalid_client_metadata"),
    ({"application_type": "desktop"}, "invalid_client_metadata"),
    ({"scope": "openid wizardry"}, "invalid_client_metadata"),
    ({"scope": 7}, "invalid_client_metadata"),
    ({"software_id": "x" * 201}, "invalid_client_metadata"),
    ({"redirect_uris": ["https://a.gov.example/cb", "https://b.gov.example/cb"]},
     "invalid_client_metadata"),
    ({"software_statement": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}, "invalid_software_statement"),
])
def test_metadata_errors_have_their_rfc_7591_codes(client, iat, changes, error):
    r = register(client, iat, {**BASE, **changes})
    assert r.status_code == 400, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["error"] == error and body["error_description"]


def test_json_nested_deeper_than_the_parser_goes_is_invalid_metadata(client, iat):
    for nested in ("[" * 5000 + "]" * 5000,
                   '{"client_name": ' + "[" * 990 + "]" * 990 + "}"):
        r = client.post("/connect/register", data=nested, content_type="application/json",
                        headers={"Authorization": f"Bearer {iat}"})
        assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"


def test_a_lone_surrogate_is_invalid_metadata(client, iat, registered):
    """JSON may escape half of a UTF-16 pair ("\\ud800"): no character, and no text of ours
    holds one (it cannot be stored or hashed)."""
    for field in ("client_name", "software_id"):
        r = register(client, iat, {**BASE, field: "a\ud800"})
        assert r.status_code == 400 and r.get_json() == {
            "error": "invalid_client_metadata", "error_description": "the request body "
            "contains a character that is not allowed (a lone surrogate)"}
    r = manage(client, "PUT", registered["client_id"], registered["registration_access_token"],
               {"client_id": registered["client_id"], "redirect_uris": [REDIRECT],
                "client_secret": "\udc00"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"


def test_a_body_that_is_not_a_json_object_is_invalid_metadata(client, iat):
    headers = {"Authorization": f"Bearer {iat}"}
    r = client.post("/connect/register", data="client_name=x", headers=headers)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    r = client.post("/connect/register", json=["a"], headers=headers)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    r = client.post("/connect/register", data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                    headers={**headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("metadata", [
    {"client_name": "App", "application_type": "native", "token_endpoint_auth_method": "none",
     "redirect_uris": ["com.example.app:/oauth2redirect"]},
    {"client_name": "App", "application_type": "native", "token_endpoint_auth_method": "none",
     "redirect_uris": ["http://127.0.0.1:8765/cb", "http://[::1]:8765/cb"]},
    {"client_name": "Batch", "grant_types": ["client_credentials"]},
    {"client_name": "Signed", "token_endpoint_auth_method": "private_key_jwt",
     "jwks": PUBLIC_JWKS, "redirect_uris": ["https://gov.example/cb"]},
])
def test_valid_metadata_of_each_kind_is_accepted(client, iat, metadata):
    r = register(client, iat, metadata)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert ("client_secret" in body) == (
        metadata.get("token_endpoint_auth_method") is None)
    if metadata.get("grant_types") == ["client_credentials"]:
        assert body["response_types"] == [] and body["scope"] == "openid"


@pytest.mark.parametrize("name", [{}, {"client_name": None}, {"client_name": " "}])
def test_client_name_is_optional_and_reviewers_see_it_was_not_given(app, client, iat, name):
    """RFC 7591 2: citizens see the host the platform sends them back to instead."""
    r = register(client, iat, {"redirect_uris": ["https://tax.gov.example/cb"], **name})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["client_name"] == "tax.gov.example" and body["status"] == "pending"
    assert body["status_reason"] == ("registered without a client_name: citizens see "
                                     "'tax.gov.example'")
    with app.app_context():
        from idp.audit.models import AuditEvent

        event = AuditEvent.query.filter_by(action="client.registered").one()
        assert event.detail["client_name_given"] is False
        assert event.detail["after"]["client_name"] == "tax.gov.example"
    native = register(client, iat, {"application_type": "native", "redirect_uris": [
        "com.example.app:/cb"], "token_endpoint_auth_method": "none"}).get_json()
    assert native["client_name"] == "com.example.app"
    machine = register(client, iat, {"grant_types": ["client_credentials"]}).get_json()
    assert machine["client_name"] == machine["client_id"]


def test_a_client_that_names_itself_later_is_reviewed(app, client, iat):
    first = register(client, iat, {"redirect_uris": [REDIRECT]}).get_json()
    cid, rat = first["client_id"], first["registration_access_token"]
    assert first["client_name"] == "127.0.0.1"
    with app.app_context():
        service.set_status(cid, "active", actor="admin:1")
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "税务平台",
                                         "redirect_uris": [REDIRECT]})
    assert r.get_json()["client_name"] == "税务平台" and r.get_json()["status"] == "pending"


def test_operators_name_the_clients_they_register(app):
    with app.app_context(), pytest.raises(service.ClientValidationError,
                                          match="client_name is required"):
        service.register_client({"redirect_uris": [REDIRECT]}, actor="admin:1")


def test_native_apps_get_a_pairwise_sector_of_their_own(app, client, iat):
    native = {"client_name": "App", "application_type": "native",
              "token_endpoint_auth_method": "none", "redirect_uris": ["http://127.0.0.1/cb"]}
    a = register(client, iat, native).get_json()
    b = register(client, iat, native).get_json()
    with app.app_context():
        sa = service.client_row(a["client_id"]).sector_identifier
        sb = service.client_row(b["client_id"]).sector_identifier
    assert sa != sb


# --- sector_identifier_uri (OIDC Registration 5) ----------------------------------------------

class SectorDocument(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, document):
        super().__init__(("127.0.0.1", 0), SectorHandler)
        self.document, self.hits = document, 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/sector.json"


class SectorHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.hits += 1
        payload = self.server.document if isinstance(self.server.document, bytes) else (
            json.dumps(self.server.document).encode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def sector_server(start_server):
    return lambda document: start_server(SectorDocument(document))


def test_sector_identifier_uri_must_list_every_redirect_uri(app, client, iat, sector_server):
    uris = ["https://a.gov.example/cb", "https://b.gov.example/cb"]
    good = sector_server(uris)
    r = register(client, iat, {"client_name": "Two hosts", "redirect_uris": uris,
                               "sector_identifier_uri": good.url})
    assert r.status_code == 201, r.get_json()
    with app.app_context():
        assert service.client_row(r.get_json()["client_id"]).sector_identifier == "127.0.0.1"
    register(client, iat, {"client_name": "Again", "redirect_uris": uris,
                           "sector_identifier_uri": good.url})
    assert good.hits == 1  # cached
    partial = sector_server(uris[:1])
    r = register(client, iat, {"client_name": "Two hosts", "redirect_uris": uris,
                               "sector_identifier_uri": partial.url})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_redirect_uri"
    for document in ({"uris": uris}, b"x" * (70 * 1024),
                     b"[" * 5000 + b"]" * 5000):  # deeper than the JSON parser goes
        bad = sector_server(document)
        r = register(client, iat, {"client_name": "Bad", "redirect_uris": uris,
                                   "sector_identifier_uri": bad.url})
        assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    r = register(client, iat, {"client_name": "Bad", "redirect_uris": uris,
                               "sector_identifier_uri": "http://gov.example/sector.json"})
    assert r.status_code == 400 and "https" in r.get_json()["error_description"]


# --- RFC 7592: read, update, delete -----------------------------------------------------------

@pytest.fixture
def registered(app, client, iat):
    r = register(client, iat, {"client_name": "税务平台", "redirect_uris": [REDIRECT],
                               "grant_types": ["authorization_code", "refresh_token"],
                               "contacts": ["ops@tax.gov.example"],
                               "scope": "openid profile"})
    assert r.status_code == 201
    return r.get_json()


def test_read_with_the_registration_access_token(client, registered):
    cid, rat = registered["client_id"], registered["registration_access_token"]
    r = manage(client, "GET", cid, rat)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["client_id"] == cid and body["client_name"] == "税务平台"
    assert body["registration_access_token"] == rat
    assert body["registration_client_uri"] == registered["registration_client_uri"]
    assert "client_secret" not in body
    assert_bearer_error(manage(client, "GET", cid, "wrong"))
    assert_bearer_error(manage(client, "GET", cid, None), error=None)
    assert_bearer_error(manage(client, "GET", "another-client", rat))


def test_a_registration_token_works_for_its_own_client_only(client, iat, registered):
    other = register(client, iat).get_json()
    assert_bearer_error(manage(client, "GET", other["client_id"],
                               registered["registration_access_token"]))
    assert_bearer_error(manage(client, "DELETE", other["client_id"],
                               registered["registration_access_token"]))


def test_update_replaces_the_metadata(app, client, registered):
    cid, rat = registered["client_id"], registered["registration_access_token"]
    new = {"client_id": cid, "client_name": "税务平台 2", "redirect_uris": [REDIRECT],
           "grant_types": ["authorization_code", "refresh_token"], "scope": "openid",
           "client_secret": registered["client_secret"], "skip_consent": True}
    r = manage(client, "PUT", cid, rat, new)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["client_name"] == "税务平台 2" and body["scope"] == "openid"
    assert body["contacts"] == []  # omitted: removed (RFC 7592 2.2)
    assert body["skip_consent"] is False  # policy stays the operator's
    assert "client_secret" not in body  # unchanged, never shown again
    assert manage(client, "GET", cid, rat).get_json()["client_name"] == "税务平台 2"
    # client_id must match; a client_secret must be the client's
    r = manage(client, "PUT", cid, rat, {**new, "client_id": "other"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    r = manage(client, "PUT", cid, rat, {k: v for k, v in new.items() if k != "client_id"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    r = manage(client, "PUT", cid, rat, {**new, "client_secret": "guess"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    r = manage(client, "PUT", cid, rat, {**new, "redirect_uris": ["http://x.example/cb"]})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_redirect_uri"
    assert_bearer_error(manage(client, "PUT", cid, "wrong", new))
    with app.app_context():
        from idp.audit.models import AuditEvent

        event = AuditEvent.query.filter_by(action="client.updated").one()
        assert event.actor == f"client:{cid}" and event.target == f"client:{cid}"
        assert set(event.detail["after"]) == {"client_name", "scope", "contacts"}


def test_an_approved_client_changing_its_redirect_uris_goes_back_to_review(app, client,
                                                                           registered):
    cid, rat = registered["client_id"], registered["registration_access_token"]
    with app.app_context():
        service.set_status(cid, "active", actor="admin:1")
    base = {"client_id": cid, "client_name": "税务平台", "scope": "openid profile",
            "grant_types": ["authorization_code", "refresh_token"]}
    r = manage(client, "PUT", cid, rat, {**base, "redirect_uris": [REDIRECT],
                                         "contacts": ["ops@tax.gov.example"]})
    assert r.get_json()["status"] == "active"  # contacts: no review
    r = manage(client, "PUT", cid, rat, {**base, "redirect_uris": [REDIRECT + "/2"]})
    assert r.status_code == 200 and r.get_json()["status"] == "pending"
    with app.app_context():
        service.set_status(cid, "active", actor="admin:1")
    r = manage(client, "PUT", cid, rat, {**base, "redirect_uris": [REDIRECT],
                                         "logo_uri": "https://tax.gov.example/l.png"})
    assert r.get_json()["status"] == "pending"  # what citizens see is reviewed too


def test_a_client_cannot_move_its_pairwise_sector(app, client, registered):
    """Moving the redirect URIs to another host would hand the platform another sector's
    subject identifiers."""
    cid, rat = registered["client_id"], registered["registration_access_token"]
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "税务平台",
                                         "redirect_uris": ["https://evil.example/cb"]})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"
    with app.app_context():
        assert service.client_row(cid).redirect_uris == [REDIRECT]


def test_an_auto_approved_client_stays_active_when_it_changes(app, client):
    _id, token = issue_iat(app, auto_approve=True)
    body = register(client, token).get_json()
    r = manage(client, "PUT", body["client_id"], body["registration_access_token"], {
        "client_id": body["client_id"], "client_name": "X", "redirect_uris": [REDIRECT + "/2"]})
    assert r.status_code == 200 and r.get_json()["status"] == "active"


def test_revoking_the_auto_approving_token_ends_changes_without_review(app, client):
    token_id, token = issue_iat(app, auto_approve=True)
    body = register(client, token).get_json()
    with app.app_context():
        service.revoke_initial_access_token(token_id, actor="admin:1")
    r = manage(client, "PUT", body["client_id"], body["registration_access_token"], {
        "client_id": body["client_id"], "client_name": "X", "redirect_uris": [REDIRECT + "/2"]})
    assert r.status_code == 200 and r.get_json()["status"] == "pending"


def test_changing_the_auth_method_issues_or_drops_the_secret(app, client, iat):
    body = register(client, iat, {"client_name": "Signed", "redirect_uris": [REDIRECT],
                                  "token_endpoint_auth_method": "private_key_jwt",
                                  "jwks": PUBLIC_JWKS}).get_json()
    cid, rat = body["client_id"], body["registration_access_token"]
    assert "client_secret" not in body
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "Signed",
                                         "redirect_uris": [REDIRECT]})
    secret = r.get_json()["client_secret"]  # moved to client_secret_basic: a new secret
    assert r.get_json()["token_endpoint_auth_method"] == "client_secret_basic"
    with app.app_context():
        assert service.client_row(cid).check_client_secret(secret)
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "Signed",
                                         "redirect_uris": [REDIRECT],
                                         "token_endpoint_auth_method": "private_key_jwt",
                                         "jwks": PUBLIC_JWKS, "client_secret": secret})
    assert r.status_code == 200 and "client_secret_expires_at" not in r.get_json()
    with app.app_context():
        assert not service.client_row(cid).check_client_secret(secret)


def test_delete_removes_the_client_and_revokes_its_tokens(app, client):
    _id, token = issue_iat(app, auto_approve=True)
    body = register(client, token).get_json()
    cid, rat, secret = body["client_id"], body["registration_access_token"], body["client_secret"]
    with app.app_context():
        f.user()
    tokens = tokens_for(f.Flow(client), client, (cid, secret))
    assert_bearer_error(manage(client, "DELETE", cid, "wrong"))
    r = manage(client, "DELETE", cid, rat)
    assert r.status_code == 204 and r.get_data() == b""
    assert_bearer_error(manage(client, "GET", cid, rat))
    assert_bearer_error(manage(client, "DELETE", cid, rat))
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert r.status_code == 401
    with app.app_context():
        from idp.oauth.models import OAuthToken

        rows = OAuthToken.query.filter_by(client_id=cid).all()
        assert rows and all(row.revoked_at for row in rows)
        from idp.audit.models import AuditEvent

        assert AuditEvent.query.filter_by(action="client.deleted",
                                          target=f"client:{cid}").count() == 1


def test_discovery_advertises_the_registration_endpoint(client):
    m = client.get("/.well-known/openid-configuration").get_json()
    assert m["registration_endpoint"] == ISSUER + "/connect/register"


def test_the_citizens_sign_up_page_is_still_at_register(client):
    assert client.get("/register").status_code == 200


def test_a_native_app_with_a_private_use_scheme_completes_a_code_flow(app, client):
    _id, token = issue_iat(app, auto_approve=True)
    callback = "gov.example.app:/oauth2redirect"
    body = register(client, token, {"client_name": "App", "application_type": "native",
                                    "token_endpoint_auth_method": "none",
                                    "redirect_uris": [callback],
                                    "scope": "openid profile"}).get_json()
    assert "client_secret" not in body
    with app.app_context():
        f.user()
    verifier, challenge = f.pkce()
    params = f.authorize_params(body["client_id"], challenge, redirect_uri=callback)
    code = f.Flow(client).code(params)["code"]
    r = client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                    "client_id": body["client_id"], "redirect_uri": callback,
                                    "code_verifier": verifier})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["id_token"]
