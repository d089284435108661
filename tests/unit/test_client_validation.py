"""Client metadata validation is pure: the network is asked before (``clients.fetch.fetch_for``)
and validation reads only what it was handed (``Fetched``), with the same errors as ever."""

import socket

import pytest

from clients import fetch
from clients.validation import ClientValidationError
from clients.validation import Fetched
from clients.validation import normalize
from idp import create_app
from tests.factories import PRODUCTION

SECTOR = "https://sector.gov.example/uris.json"
JWKS_URI = "https://keys.gov.example/jwks.json"
URIS = ["https://a.gov.example/cb", "https://b.gov.example/cb"]
METADATA = {"client_name": "Two hosts", "redirect_uris": URIS, "sector_identifier_uri": SECTOR,
            "jwks_uri": JWKS_URI, "token_endpoint_auth_method": "private_key_jwt"}


@pytest.fixture
def offline(monkeypatch):
    """A production app (whose fetch checks resolve names) with the network cut off."""

    def no_network(*args, **kwargs):
        raise AssertionError("validation used the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with create_app(PRODUCTION).app_context():
        yield


def error_of(fetched):
    with pytest.raises(ClientValidationError) as refused:
        normalize(METADATA, fetched=fetched)
    return refused.value.error, refused.value.description


def test_validation_reads_what_was_fetched_and_nothing_else(offline):
    ok = {SECTOR: None, JWKS_URI: None}
    values = normalize(METADATA, fetched=Fetched(problems=ok, documents={SECTOR: URIS}))
    assert values["sector_identifier_uri"] == SECTOR and values["jwks_uri"] == JWKS_URI
    assert error_of(Fetched(problems=ok, documents={SECTOR: URIS[:1]})) == (
        "invalid_redirect_uri",
        "redirect URI(s) not listed at sector_identifier_uri: https://b.gov.example/cb")
    assert error_of(Fetched(problems=ok, documents={SECTOR: {"uris": URIS}})) == (
        "invalid_client_metadata", "sector_identifier_uri must hold a JSON array of URIs")
    assert error_of(Fetched(problems=ok, failures={SECTOR: "timed out"})) == (
        "invalid_client_metadata", "sector_identifier_uri could not be fetched: timed out")
    assert error_of(Fetched(problems={**ok, JWKS_URI: "must use https"})) == (
        "invalid_client_metadata", "jwks_uri must use https")


def test_a_url_nobody_checked_is_never_taken_as_fetchable(offline):
    with pytest.raises(KeyError):
        normalize(METADATA, fetched=Fetched())


def test_fetching_comes_first_and_says_why_a_url_may_not_be_used(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.8", port))]

    monkeypatch.setattr(fetch.socket, "getaddrinfo", resolve)
    with create_app(PRODUCTION).app_context():
        fetched = fetch.fetch_for({**METADATA, "jwks_uri": " http://keys.gov.example/k "})
        assert fetched.problems == {
            "http://keys.gov.example/k": "must use https",
            SECTOR: "names a private, local or unresolvable address"}
        assert fetched.documents == {} and fetched.failures == {}  # nothing was fetched
        assert fetch.fetch_for(["not", "an", "object"]) == Fetched()
        assert fetch.fetch_for({"jwks_uri": 42, "sector_identifier_uri": "x" * 600}) == (
            Fetched())
