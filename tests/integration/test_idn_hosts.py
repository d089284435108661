"""Internationalised host names in client metadata: checked and stored in their ASCII form
(IDNA 2008 with UTS 46 mapping), so reviewers, citizens and the exact redirect-URI match all
see one spelling; invalid names and labels that mix scripts as look-alike hosts do are
refused."""

import json

import pytest

from clients import service
from tests.integration.test_dynamic_registration import SectorDocument
from tests.integration.test_dynamic_registration import register


@pytest.fixture
def iat(app):
    with app.app_context():
        _row, token = service.issue_initial_access_token(
            actor="admin:1", label="Anyone", expires_in=3600, max_uses=None)
    return token


@pytest.mark.parametrize("uri, stored, sector", [
    ("https://政府.cn/cb", "https://xn--mxtq1m.cn/cb", "xn--mxtq1m.cn"),
    ("https://税务.政府.cn:8443/a?b=c", "https://xn--zfr703g.xn--mxtq1m.cn:8443/a?b=c",
     "xn--zfr703g.xn--mxtq1m.cn"),
    ("https://gov政务.cn/cb", "https://xn--gov-7w2e346f.cn/cb", "xn--gov-7w2e346f.cn"),
    ("https://ｔａｘ.gov.example/cb", "https://tax.gov.example/cb", "tax.gov.example"),
    ("https://München.example/cb", "https://xn--mnchen-3ya.example/cb",
     "xn--mnchen-3ya.example"),
    ("https://TAX.gov.example/cb", "https://TAX.gov.example/cb", "tax.gov.example"),
])
def test_hosts_are_stored_in_their_ascii_form(app, client, iat, uri, stored, sector):
    r = register(client, iat, {"client_name": "X", "redirect_uris": [uri],
                               "post_logout_redirect_uris": [uri], "logo_uri": uri})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["redirect_uris"] == [stored] and body["post_logout_redirect_uris"] == [stored]
    assert body["logo_uri"] == stored
    with app.app_context():
        assert service.client_row(body["client_id"]).sector_identifier == sector


@pytest.mark.parametrize("uri, words", [
    ("https://аpple.com/cb", "mixes scripts (CYRILLIC, LATIN)"),  # Cyrillic а
    ("https://gοv.example/cb", "mixes scripts (GREEK, LATIN)"),  # Greek ο
    ("https://xn--zz.cn/cb", "not a valid host name"),
    ("https://a_b.example/cb", "not a valid host name"),
    ("https://-a.example/cb", "not a valid host name"),
    ("https://a..example/cb", "not a valid host name"),
    ("https://exa%41mple.com/cb", "not a valid host name"),
])
def test_invalid_and_mixed_script_hosts_are_refused(client, iat, uri, words):
    r = register(client, iat, {"client_name": "X", "redirect_uris": [uri]})
    assert r.status_code == 400
    assert r.get_json()["error"] == "invalid_redirect_uri"
    assert words in r.get_json()["error_description"]
    r = register(client, iat, {"client_name": "X", "redirect_uris": ["https://x.example/cb"],
                               "policy_uri": uri})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_client_metadata"


def test_the_cli_stores_the_ascii_form(app):
    r = app.test_cli_runner().invoke(args=["clients", "create", "--name", "政务", "--json",
                                           "--redirect-uri", "https://政府.cn/cb"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["redirect_uris"] == ["https://xn--mxtq1m.cn/cb"]
    r = app.test_cli_runner().invoke(args=["clients", "create", "--name", "x",
                                           "--redirect-uri", "https://аpple.com/cb"])
    assert r.exit_code != 0 and "mixes scripts" in r.output


def test_a_sector_document_may_list_either_form(app, client, iat, start_server):
    uris = ["https://政府.cn/cb", "https://xn--zfr703g.cn/cb"]
    document = start_server(SectorDocument(["https://政府.cn/cb", "https://税务.cn/cb"]))
    r = register(client, iat, {"client_name": "X", "redirect_uris": uris,
                               "sector_identifier_uri": document.url})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["redirect_uris"] == ["https://xn--mxtq1m.cn/cb",
                                             "https://xn--zfr703g.cn/cb"]
