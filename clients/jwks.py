"""A client's public keys: registered inline, or fetched from its ``jwks_uri`` with the bounded
fetch of ``clients.fetch`` (timeout, size limit, short cache in the shared store)."""

from authlib.oauth2.rfc6749 import InvalidClientError

from clients.fetch import FetchError
from clients.fetch import fetch_json


def client_jwks(client) -> dict:
    if client.jwks:
        return client.jwks
    if not client.jwks_uri:
        raise InvalidClientError(description="The client has no registered keys.")
    try:
        jwks = fetch_json(client.jwks_uri, "jwks-uri:" + client.client_id)
    except FetchError as exc:
        raise InvalidClientError(
            description=f"The client's jwks_uri could not be used: {exc}") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise InvalidClientError(
            description="The client's jwks_uri could not be used: not a JWK Set")
    return jwks
