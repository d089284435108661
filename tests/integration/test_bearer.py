"""One bearer-token guard (``idp.bearer``, RFC 6750) for every resource: ``/userinfo``, client
registration and configuration (RFC 7591 / 7592) and the admin API answer a missing,
malformed, expired, wrong-purpose or under-scoped token the same way: exact status,
``WWW-Authenticate`` challenge and JSON body. (Registration tokens carry no scope, so
``insufficient_scope`` concerns userinfo and the admin API only.)"""

import pytest
from freezegun import freeze_time

from tests import factories as f
from tests.integration.test_admin_api import client_token
from tests.integration.test_admin_api import make_staff
from tests.integration.test_admin_api import user_token
from tests.integration.test_dynamic_registration import issue_iat
from tests.integration.test_dynamic_registration import register
from tests.integration.test_sso import tokens_for

MISSING = "A bearer token is required (Authorization: Bearer ...)."
MALFORMED = "The bearer token is malformed."
INVALID = "The access token is invalid, expired or revoked."
IAT_INVALID = "The initial access token is unknown, expired, revoked or used up."
RAT_INVALID = "The registration access token is not valid for this client."
NEW_CLIENT = {"client_name": "税务平台", "redirect_uris": [f.REDIRECT_URI], "scope": "openid"}


def call(app, resource, authorization=None):
    """One request to ``resource``, with ``authorization`` as the Authorization header."""
    http = app.test_client()
    headers = {"Authorization": authorization} if authorization else {}
    if resource == "userinfo":
        return http.get("/userinfo", headers=headers)
    if resource == "registration":
        return http.post("/connect/register", json=NEW_CLIENT, headers=headers)
    if resource == "configuration":
        return http.get(f"/connect/register/{app.config['TEST_CLIENT_ID']}", headers=headers)
    return http.get("/admin/api/me", headers=headers)


REALMS = {"userinfo": "userinfo", "registration": "client-registration",
          "configuration": "client-registration", "admin": "admin"}


@pytest.fixture
def registered(app):
    """A dynamically registered client (its id kept in the config for ``call``): (its
    registration access token, the initial access token that registered it)."""
    _id, iat = issue_iat(app, max_uses=None)
    body = register(app.test_client(), iat).get_json()
    app.config["TEST_CLIENT_ID"] = body["client_id"]
    return body["registration_access_token"], iat


def assert_refused(r, realm, status, error, description):
    """The exact answer: status, challenge, body, no-store."""
    challenge = f'Bearer realm="{realm}"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.headers["WWW-Authenticate"] == challenge
    assert r.get_json() == {"error": error or "invalid_token", "error_description": description}
    assert r.headers["Cache-Control"] == "no-store"


RESOURCES = ["userinfo", "registration", "configuration", "admin"]


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("authorization", [None, "Basic eDp5", "Bearer ", "bearer"])
def test_a_missing_token_gets_a_challenge_without_an_error_code(app, registered, resource,
                                                                 authorization):
    # RFC 6750 3.1: no error code in the challenge when the request carried no token
    assert_refused(call(app, resource, authorization), REALMS[resource], 401, None, MISSING)


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("authorization", ["Bearer two words", "Bearer ab$cd", "Bearer =abc",
                                           "Bearer " + "a" * 8193])
def test_a_malformed_token_is_an_invalid_request(app, registered, resource, authorization):
    # RFC 6750 2.1: the credential is a b64token; 3.1: otherwise malformed, 400
    assert_refused(call(app, resource, authorization), REALMS[resource], 400, "invalid_request",
                   MALFORMED)


@pytest.mark.parametrize("resource, description", [
    ("userinfo", INVALID), ("registration", IAT_INVALID), ("configuration", RAT_INVALID),
    ("admin", INVALID)])
def test_an_unknown_token_is_invalid(app, registered, resource, description):
    assert_refused(call(app, resource, "Bearer not.a.token"), REALMS[resource], 401,
                   "invalid_token", description)


def test_userinfo_refuses_a_token_sent_two_ways(app):
    # RFC 6750 2: clients MUST NOT use more than one method to transmit the token
    r = app.test_client().post("/userinfo", headers={"Authorization": "Bearer abc"},
                               data={"access_token": "abc"})
    assert_refused(r, "userinfo", 400, "invalid_request",
                   "The access token was sent more than one way.")


# --- expired -------------------------------------------------------------------------------

@pytest.fixture
def citizen(app):
    """(client_id, secret) of a platform and the tokens of a citizen's login at it."""
    with app.app_context():
        f.user()
        rp = f.rp(scope="openid profile")
    http = app.test_client()
    return rp, tokens_for(f.Flow(http), http, rp)


def test_an_expired_access_token_is_invalid_at_userinfo(app, citizen):
    token = citizen[1]["access_token"]
    with freeze_time() as frozen:
        assert call(app, "userinfo", f"Bearer {token}").status_code == 200
        frozen.tick(901)
        assert_refused(call(app, "userinfo", f"Bearer {token}"), "userinfo", 401,
                       "invalid_token", INVALID)


def test_an_expired_access_token_is_invalid_at_the_admin_api(app):
    _cid, token = client_token(app, "super_admin")
    with freeze_time() as frozen:
        assert call(app, "admin", f"Bearer {token}").status_code == 200
        frozen.tick(901)
        assert_refused(call(app, "admin", f"Bearer {token}"), "admin", 401, "invalid_token",
                       INVALID)


def test_an_expired_initial_access_token_is_invalid(app):
    with freeze_time() as frozen:
        _id, iat = issue_iat(app, expires_in=600, max_uses=None)
        frozen.tick(601)
        assert_refused(call(app, "registration", f"Bearer {iat}"), "client-registration", 401,
                       "invalid_token", IAT_INVALID)


# --- a token meant for something else --------------------------------------------------------

def test_userinfo_refuses_tokens_that_are_not_a_citizens_access_token(app, citizen, registered):
    rp, tokens = citizen
    machine = client_token(app, scope="openid")[1]  # a client's own token: no citizen
    assert_refused(call(app, "userinfo", f"Bearer {machine}"), "userinfo", 401,
                   "invalid_token", "A client's own access token has no userinfo.")
    rat, iat = registered
    for other in (tokens["id_token"], tokens["refresh_token"], rat, iat):
        assert_refused(call(app, "userinfo", f"Bearer {other}"), "userinfo", 401,
                       "invalid_token", INVALID)


def test_client_registration_refuses_tokens_meant_for_something_else(app, citizen, registered):
    _rp, tokens = citizen
    rat, iat = registered
    for other in (tokens["access_token"], rat):
        assert_refused(call(app, "registration", f"Bearer {other}"), "client-registration",
                       401, "invalid_token", IAT_INVALID)
    for other in (tokens["access_token"], iat):
        assert_refused(call(app, "configuration", f"Bearer {other}"), "client-registration",
                       401, "invalid_token", RAT_INVALID)
    assert call(app, "configuration", f"Bearer {rat}").status_code == 200


def test_the_admin_api_refuses_tokens_that_are_not_access_tokens(app, citizen, registered):
    _rp, tokens = citizen
    rat, iat = registered
    for other in (tokens["id_token"], tokens["refresh_token"], rat, iat):
        assert_refused(call(app, "admin", f"Bearer {other}"), "admin", 401, "invalid_token",
                       INVALID)


# --- insufficient scope ------------------------------------------------------------------------

def test_userinfo_needs_the_openid_scope(app, citizen):
    rp, tokens = citizen
    r = app.test_client().post("/token", auth=rp, data={
        "grant_type": "refresh_token", "scope": "profile",
        "refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200, r.get_json()
    assert_refused(call(app, "userinfo", f"Bearer {r.get_json()['access_token']}"), "userinfo",
                   403, "insufficient_scope", "The token lacks the openid scope.")


def test_the_admin_api_needs_the_admin_scope(app, citizen):
    _cid, token = client_token(app, "super_admin", scope="reports")
    assert_refused(call(app, "admin", f"Bearer {token}"), "admin", 403, "insufficient_scope",
                   "The access token lacks the admin scope.")
    assert_refused(call(app, "admin", f"Bearer {citizen[1]['access_token']}"), "admin", 403,
                   "insufficient_scope", "The access token lacks the admin scope.")


def test_an_administrators_login_without_two_factors_is_insufficient(app):
    # RFC 9470 3: the same challenge, with its own error code
    make_staff(app, "13900139000", "super_admin", second_factor=False)
    token = user_token(app, "13900139000", None)
    assert_refused(call(app, "admin", f"Bearer {token}"), "admin", 401,
                   "insufficient_user_authentication",
                   "Administration needs a login with a second factor.")
