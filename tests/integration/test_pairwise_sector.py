"""The pairwise sector (OIDC Core 8.1): a client lands in a sector only when it proves it. One
https host of redirect URIs proves that host; redirect URIs on several hosts (a loopback
address or a private-use scheme counts as a host of its own: any app on a device can claim
it) need a sector_identifier_uri listing them all, and its host is the sector. The rule is
the same for self-registration (RFC 7591), its updates (RFC 7592), the admin API, the console
and the CLI; only an operator may name a sector outright."""

import json

import pytest

from clients import service
from tests import factories as f
from tests.factories import claims_of
from tests.integration.test_admin_api import Api
from tests.integration.test_admin_api import client_token
from tests.integration.test_admin_api import make_staff
from tests.integration.test_admin_console import console
from tests.integration.test_admin_console import html
from tests.integration.test_admin_console import register as console_register
from tests.integration.test_dynamic_registration import SectorDocument
from tests.integration.test_dynamic_registration import manage
from tests.integration.test_dynamic_registration import register
from tests.integration.test_sso import tokens_for

TAX = "https://tax.gov.example/cb"
LOOPBACK = "http://127.0.0.1:18097/cb"
NATIVE = {"application_type": "native", "token_endpoint_auth_method": "none"}

TAKEOVERS = [
    pytest.param({"redirect_uris": [TAX, LOOPBACK]}, id="https-and-loopback"),
    pytest.param({"redirect_uris": [LOOPBACK, TAX]}, id="loopback-first"),
    pytest.param({"redirect_uris": [TAX, "com.evil.app:/cb"], **NATIVE}, id="private-use"),
    pytest.param({"redirect_uris": [TAX, "http://localhost:8000/cb"], **NATIVE},
                 id="native-localhost"),
    pytest.param({"redirect_uris": [TAX, "https://evil.example/cb"]}, id="two-https-hosts"),
]


@pytest.fixture
def tax(app):
    """The operator-registered tax platform and a citizen."""
    with app.app_context():
        f.user()
        return f.rp(name="税务平台", redirect_uris=(TAX,))


@pytest.fixture
def iat(app):
    with app.app_context():
        _row, token = service.issue_initial_access_token(
            actor="admin:1", label="Anyone", expires_in=3600, max_uses=None, auto_approve=True)
    return token


def _sector(app, client_id):
    with app.app_context():
        return service.client_row(client_id).sector_identifier


def _assert_needs_sector_uri(r):
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert body["error"] == "invalid_client_metadata"
    assert "need a sector identifier for pairwise subjects" in body["error_description"]
    assert "sector_identifier_uri" in body["error_description"]


@pytest.mark.parametrize("metadata", TAKEOVERS)
def test_a_self_registered_client_cannot_join_another_platforms_sector(app, client, tax, iat,
                                                                        metadata):
    r = register(client, iat, {"client_name": "税务平台", **metadata})
    _assert_needs_sector_uri(r)
    assert "tax.gov.example" in r.get_json()["error_description"]
    with app.app_context():
        assert service.list_clients()[1] == 1  # the tax platform only


def test_a_self_registered_client_cannot_name_its_sector(app, client, tax, iat):
    """``sector_identifier`` is the operator's: a registrant's is ignored, never trusted."""
    r = register(client, iat, {"client_name": "App", "redirect_uris": [LOOPBACK],
                               "sector_identifier": "tax.gov.example"})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["client_id"]
    assert _sector(app, cid) == f"client:{cid}"
    _assert_needs_sector_uri(register(client, iat, {
        "client_name": "App", "redirect_uris": [TAX, LOOPBACK],
        "sector_identifier": "tax.gov.example"}))


def test_a_sector_identifier_uri_proves_a_sector_of_its_own_host(app, client, tax, iat,
                                                                  start_server):
    """Listing the tax platform's URI in a document on one's own host puts the client in
    that host's sector: the citizen's sub there differs from the one the tax platform sees."""
    document = start_server(SectorDocument([TAX, LOOPBACK]))
    r = register(client, iat, {"client_name": "Mine", "redirect_uris": [TAX, LOOPBACK],
                               "scope": "openid profile", "sector_identifier_uri": document.url})
    assert r.status_code == 201, r.get_json()
    mine = r.get_json()
    assert _sector(app, mine["client_id"]) == "127.0.0.1"
    flow = f.Flow(client)
    at_tax = tokens_for(flow, client, tax, redirect_uri=TAX)
    at_mine = tokens_for(flow, client, (mine["client_id"], mine["client_secret"]),
                         redirect_uri=LOOPBACK)
    assert (claims_of(app, at_mine["id_token"]).claims["sub"]
            != claims_of(app, at_tax["id_token"]).claims["sub"])


def test_native_apps_on_loopback_and_private_use_uris_have_a_sector_of_their_own(
        app, client, iat):
    r = register(client, iat, {"client_name": "App", "redirect_uris": [
        "com.example.app:/cb", "http://127.0.0.1:8765/cb", "http://[::1]:8765/cb"], **NATIVE})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["client_id"]
    assert _sector(app, cid) == f"client:{cid}"


def test_public_subjects_need_no_sector_and_prove_none(app, client, iat):
    r = register(client, iat, {"client_name": "Public", "redirect_uris": [TAX, LOOPBACK],
                               "subject_type": "public"})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["client_id"]
    assert _sector(app, cid) == f"client:{cid}"
    # and it cannot turn pairwise later to land in the tax sector (RFC 7592)
    r = manage(client, "PUT", cid, r.get_json()["registration_access_token"], {
        "client_id": cid, "client_name": "Public", "redirect_uris": [TAX]})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize("extra", [LOOPBACK, "https://evil.example/cb"])
def test_an_update_cannot_add_a_host_to_a_sector(app, client, iat, extra):
    """RFC 7592: a client in the tax host's sector (its redirect URIs are all there) cannot
    add a URI it can receive codes at and keep the sector."""
    r = register(client, iat, {"client_name": "Tax 2", "redirect_uris": [TAX]})
    cid, rat = r.get_json()["client_id"], r.get_json()["registration_access_token"]
    assert _sector(app, cid) == "tax.gov.example"
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "Tax 2",
                                         "redirect_uris": [TAX, extra]})
    _assert_needs_sector_uri(r)
    with app.app_context():
        assert service.client_row(cid).redirect_uris == [TAX]


def test_the_cli_applies_the_rule_and_keeps_the_operators_sector_identifier(app):
    cli = app.test_cli_runner()
    r = cli.invoke(args=["clients", "create", "--name", "X", "--redirect-uri", TAX,
                         "--redirect-uri", LOOPBACK])
    assert r.exit_code != 0
    assert "invalid_client_metadata: redirect URIs on more than one host" in r.output
    r = cli.invoke(args=["clients", "create", "--name", "X", "--redirect-uri", TAX,
                         "--redirect-uri", LOOPBACK, "--sector-identifier", "tax.gov.example",
                         "--json"])
    assert r.exit_code == 0, r.output
    assert _sector(app, json.loads(r.output)["client_id"]) == "tax.gov.example"


def test_the_admin_api_applies_the_rule(app):
    _robot, token = client_token(app, "client_registrar")
    api = Api(app, token)
    _assert_needs_sector_uri(api.post("/clients", json={"client_name": "X",
                                                         "redirect_uris": [TAX, LOOPBACK]}))
    r = api.post("/clients", json={"client_name": "X", "redirect_uris": [TAX, LOOPBACK],
                                   "sector_identifier": "tax.gov.example"})
    assert r.status_code == 201, r.get_json()
    assert _sector(app, r.get_json()["client_id"]) == "tax.gov.example"


def test_the_console_applies_the_rule(app):
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes)
    page = console_register(flow, redirect_uris=f"{TAX}\n{LOOPBACK}")
    assert page.status_code == 400
    assert "need a sector identifier for pairwise subjects" in html(page)
    with app.app_context():
        assert service.list_clients()[1] == 0
