"""A client's public keys: registered inline, or fetched from its ``jwks_uri`` with a timeout,
a size limit and a short cache in the shared store."""

import json
import urllib.request

from authlib.oauth2.rfc6749 import InvalidClientError
from flask import current_app

from idp.store import store

CACHE_SECONDS = 300


def client_jwks(client) -> dict:
    if client.jwks:
        return client.jwks
    if not client.jwks_uri:
        raise InvalidClientError(description="The client has no registered keys.")
    key = "jwks-uri:" + client.client_id
    cached = store().get(key)
    if cached is not None:
        return cached
    cfg = current_app.config
    limit = cfg["JWKS_URI_MAX_BYTES"]
    if not client.jwks_uri.startswith(("https://", "http://")):
        raise InvalidClientError(description="The client's jwks_uri is not an http(s) URL.")
    try:
        req = urllib.request.Request(  # noqa: S310 (scheme checked above)
            client.jwks_uri, headers={"Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=cfg["JWKS_URI_TIMEOUT"]) as resp:  # noqa: S310
            body = resp.read(limit + 1)
        if len(body) > limit:
            raise ValueError("too large")
        jwks = json.loads(body)
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError("not a JWK Set")
    except (OSError, ValueError) as exc:
        raise InvalidClientError(
            description=f"The client's jwks_uri could not be used: {exc}") from None
    store().set(key, jwks, CACHE_SECONDS)
    return jwks
