"""Our side of a login at a regional identity provider: a strict OpenID Connect relying party.

Authlib's client (``authlib.oauth2.client.OAuth2Client``) builds the authorization request
(``state``, ``nonce``, PKCE ``S256``) and the token request (the code, its verifier and our
client authentication); ``authlib.oidc.core.CodeIDToken`` checks the ID token's claims.
Around it, what a strict relying party adds:

* the provider's discovery document must name the issuer we registered, exactly;
* ``state`` is single use, bound to the browser that started the login (a value in its
  signed session cookie) and to the provider it was made for: an answer arriving at another
  provider's callback (a mix-up) is refused;
* RFC 9207: when the provider says it sends ``iss`` with its answers, the answer must carry
  its issuer; an ``iss`` that is not its issuer is refused in any case;
* the ID token is verified against the provider's JWKS (the key chosen by ``kid``; the JWKS is
  fetched again once when a ``kid`` is unknown, for a rotation), with only the asymmetric
  algorithms it advertises, then ``iss``, ``aud`` (and ``azp``), ``exp``, ``iat`` (not in the
  future, not older than ``MAX_ID_TOKEN_AGE``), ``nonce``, ``at_hash`` and, when the platform
  asked for ``max_age`` or ``prompt=login``, an ``auth_time`` that answers it;
* userinfo, when the provider has it, must be about the same ``sub``.

Every call leaves through ``clients.fetch.send``: timeouts, no ``*_proxy`` variables, a size
limit, and in production only public addresses (loopback is for development and tests).
Discovery documents and JWKS are cached in the shared store for ``clients.fetch.CACHE_SECONDS``.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from clients import fetch
from idp import json_input
from idp.federation import service
from idp.store import store

log = logging.getLogger(__name__)

#: The algorithms an ID token may be signed with: asymmetric ones only (never ``none`` or a
#: MAC keyed with our client secret), and of those only what the provider advertises.
SIGNING_ALGS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384",
                "PS512", "EdDSA")
#: Clock skew allowed on ``exp`` and ``iat`` (seconds).
LEEWAY = 60
#: An ID token older than this (by ``iat``) is refused: it was made for another login.
MAX_ID_TOKEN_AGE = 600
#: The longest ``sub`` we keep (``upstream_links.subject``).
MAX_SUBJECT = 255


class UpstreamFailure(Exception):
    """The login at the provider did not give a verified answer. ``reason`` (for the audit
    log): ``unreachable`` (it could not be reached, or answered with a server error),
    ``refused`` (it answered the login with an error), or what failed a check (``discovery``,
    ``iss``, ``token``, ``id_token``, ``userinfo``)."""

    def __init__(self, reason, detail):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = str(detail)[:300]


@dataclass(frozen=True)
class Answer:
    """What a verified answer says: who (``subject``), the claims we use (mapped), the level
    it vouches for here, its ``acr`` as sent and the ID token (the hint for logging out)."""

    subject: str
    claims: dict
    vouched: int
    acr: str | None
    id_token: str


def _digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def metadata(upstream) -> dict:
    """Its discovery document (cached), checked: the issuer exactly as registered, and the
    endpoints a login needs, each one we may call."""
    try:
        meta = fetch.fetch_json(upstream.discovery_url,
                                "upstream-discovery:" + _digest(upstream.discovery_url))
    except fetch.FetchError as exc:
        raise UpstreamFailure("unreachable", f"discovery: {exc}") from None
    if not isinstance(meta, dict) or meta.get("issuer") != upstream.issuer:
        raise UpstreamFailure("discovery", "the discovery document names another issuer")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(name), str):
            raise UpstreamFailure("discovery", f"the discovery document has no {name}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
                 "end_session_endpoint"):
        if name in meta and (not isinstance(meta[name], str) or fetch.check_fetchable(meta[name])):
            raise UpstreamFailure("discovery", f"{name} is not an address we may call")
    return meta


class _Response:
    """An answer as Authlib's client reads it (status, JSON, raise_for_status)."""

    def __init__(self, status, body):
        self.status_code, self.body = status, body

    def json(self):
        return json_input.loads(self.body)

    def raise_for_status(self):
        if self.status_code >= 400:
            raise fetch.FetchError(f"HTTP Error {self.status_code}")


class _Transport:
    """The session Authlib's client posts through: ``clients.fetch.send``."""

    def post(self, url, data=None, headers=None, auth=None, **_kwargs):
        body, headers = urlencode(data or {}), dict(headers or {})
        if auth is not None:
            url, headers, body = auth.prepare("POST", url, headers, body)
        return _Response(*fetch.send(url, body.encode(), headers))


def _client(upstream) -> OAuth2Client:
    return OAuth2Client(_Transport(), client_id=upstream.client_id,
                        client_secret=upstream.client_secret(),
                        token_endpoint_auth_method=upstream.auth_method, scope=upstream.scope,
                        redirect_uri=upstream.callback_url, code_challenge_method="S256")


def begin(upstream, uid, prompt=None, max_age=None, ui_locales=None) -> tuple[str, str]:
    """(authorization URL, state) of a login at ``upstream`` for the journey ``uid``. The
    state, nonce and PKCE verifier wait in the store, single use, for the journey's life."""
    meta = metadata(upstream)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
    extra = {"nonce": nonce}
    for name, value in (("prompt", prompt), ("max_age", max_age), ("ui_locales", ui_locales)):
        if value not in (None, ""):
            extra[name] = str(value)
    url, state = _client(upstream).create_authorization_url(
        meta["authorization_endpoint"], state=state, code_verifier=verifier, **extra)
    store().set("upstream-auth:" + _digest(state),
                {"uid": uid, "slug": upstream.slug, "nonce": nonce, "verifier": verifier,
                 "max_age": max_age, "login": prompt == "login", "at": int(time.time())},
                current_app.config["INTERACTION_TTL"])
    return url, state


def take_state(state) -> dict | None:
    """The login that ``state`` was made for (uid, slug, nonce, verifier), once."""
    if not isinstance(state, str) or not 16 <= len(state) <= 128:
        return None
    return store().pop("upstream-auth:" + _digest(state))


def finish(upstream, started, args) -> Answer:
    """Verify the provider's answer (the callback's query ``args``) to the login ``started``
    (what :func:`take_state` gave) and return what it says."""
    meta = metadata(upstream)
    issued = args.get("iss")
    if issued is not None and issued != upstream.issuer:
        raise UpstreamFailure("iss", "the answer names another issuer (RFC 9207)")
    if issued is None and meta.get("authorization_response_iss_parameter_supported") is True:
        raise UpstreamFailure("iss", "the answer lacks iss (RFC 9207)")
    if args.get("error"):
        raise UpstreamFailure("refused", args.get("error")[:100])
    code = args.get("code")
    if not code:
        raise UpstreamFailure("token", "the answer has no code")
    try:
        token = _client(upstream).fetch_token(meta["token_endpoint"], code=code,
                                              code_verifier=started["verifier"])
    except fetch.FetchError as exc:
        raise UpstreamFailure("unreachable", f"token endpoint: {exc}") from None
    except OAuth2Error as exc:
        raise UpstreamFailure("token", f"{exc.error}: {exc.description or ''}") from None
    except ValueError as exc:
        raise UpstreamFailure("token", exc) from None
    if not isinstance(token.get("id_token"), str):
        raise UpstreamFailure("token", "the token response has no ID token")
    claims = _verified_id_token(upstream, meta, token["id_token"], started["nonce"],
                                token.get("access_token"), _earliest_login(started))
    if len(claims["sub"]) > MAX_SUBJECT:
        raise UpstreamFailure("id_token", "sub is too long")
    everything = dict(claims)
    if meta.get("userinfo_endpoint") and isinstance(token.get("access_token"), str):
        everything.update(_userinfo(meta["userinfo_endpoint"], token["access_token"],
                                    claims["sub"]))
    acr = claims.get("acr") if isinstance(claims.get("acr"), str) else None
    return Answer(subject=claims["sub"], claims=service.mapped_claims(upstream, everything),
                  vouched=service.vouched_level(upstream, acr), acr=acr,
                  id_token=token["id_token"])


def _jwks(meta, fresh=False) -> KeySet:
    key = "upstream-jwks:" + _digest(meta["jwks_uri"])
    if fresh:
        store().delete(key)
    try:
        return KeySet.import_key_set(fetch.fetch_json(meta["jwks_uri"], key))
    except fetch.FetchError as exc:
        raise UpstreamFailure("unreachable", f"jwks_uri: {exc}") from None
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise UpstreamFailure("id_token", f"the JWKS is not usable: {exc}") from None


def _earliest_login(started) -> int | None:
    """The oldest authentication there that answers the login ``started``: no older than
    ``max_age`` and, with ``prompt=login``, not before it started (OIDC Core 3.1.2.1); None
    when the platform asked for neither."""
    bounds = []
    if started.get("max_age") is not None:
        bounds.append(int(time.time()) - int(started["max_age"]))
    if started.get("login"):
        bounds.append(started["at"])
    return max(bounds) if bounds else None


def _verified_id_token(upstream, meta, raw, nonce, access_token, earliest=None) -> dict:
    advertised = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in advertised if alg in SIGNING_ALGS]
    if not algorithms:
        raise UpstreamFailure("id_token", "the provider advertises no algorithm we accept")
    try:
        try:
            token = jwt.decode(raw, _jwks(meta), algorithms=algorithms)
        except InvalidKeyIdError:  # a key published since we fetched the JWKS
            token = jwt.decode(raw, _jwks(meta, fresh=True), algorithms=algorithms)
        now = int(time.time())
        claims = CodeIDToken(
            token.claims, token.header,
            options={"iss": {"essential": True, "value": upstream.issuer},
                     "aud": {"essential": True, "value": upstream.client_id},
                     "sub": {"essential": True}, "exp": {"essential": True},
                     "iat": {"essential": True,
                             "validate": lambda _c, iat: iat >= now - MAX_ID_TOKEN_AGE},
                     "nonce": {"essential": True},
                     **({} if earliest is None else {"auth_time": {
                         "essential": True,
                         "validate": lambda _c, at: isinstance(at, int | float)
                         and not isinstance(at, bool) and at >= earliest - LEEWAY}})},
            params={"nonce": nonce, "client_id": upstream.client_id,
                    "access_token": access_token})
        claims.validate(now=now, leeway=LEEWAY)
    except JoseError as exc:
        raise UpstreamFailure("id_token", exc) from None
    except (ValueError, TypeError) as exc:
        raise UpstreamFailure("id_token", exc.__class__.__name__) from None
    return dict(claims)


def _userinfo(endpoint, access_token, subject) -> dict:
    try:
        status, body = fetch.send(endpoint, headers={"Authorization": f"Bearer {access_token}",
                                                     "Accept": "application/json"})
    except fetch.FetchError as exc:
        raise UpstreamFailure("unreachable", f"userinfo: {exc}") from None
    if status >= 500:
        raise UpstreamFailure("unreachable", f"userinfo: HTTP Error {status}")
    try:
        info = json_input.loads(body) if status == 200 else None
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise UpstreamFailure("userinfo", f"HTTP {status}, not a JSON object")
    if info.get("sub") != subject:
        raise UpstreamFailure("userinfo", "userinfo is about another sub (OIDC Core 5.3.2)")
    return info


def logout_url(upstream, id_token, state) -> str | None:
    """Where to send the browser to log out at ``upstream`` (OpenID Connect RP-Initiated
    Logout 1.0, our ID token as the hint, back to its callback with ``state``); None when it
    has no ``end_session_endpoint`` or cannot be reached now."""
    try:
        meta = metadata(upstream)
    except UpstreamFailure as exc:
        log.warning("no logout at upstream %s: %s", upstream.slug, exc)
        return None
    endpoint = meta.get("end_session_endpoint")
    if not endpoint:
        return None
    return add_params_to_uri(endpoint, [("id_token_hint", id_token),
                                        ("client_id", upstream.client_id),
                                        ("post_logout_redirect_uri", upstream.callback_url),
                                        ("state", state)])
