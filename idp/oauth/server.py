"""The Authlib authorization server with our grants, client authentication and endpoints."""

import time

from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.oauth2.rfc6749 import ClientAuthentication
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc7009 import RevocationEndpoint as BaseRevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as BaseIntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from clients.jwks import client_jwks
from clients.service import get_client
from clients.signals import client_deleted
from idp.accounts import service as accounts_service
from idp.accounts.models import User
from idp.accounts.signals import consent_revoked
from idp.enterprise import service as enterprise
from idp.errors import describable
from idp.extensions import db
from idp.oauth import tokens
from idp.oauth.checks import AuthorizationChecks
from idp.oauth.checks import S256CodeChallenge
from idp.oauth.claims import subject_for
from idp.oauth.client_checks import basic_credentials
from idp.oauth.client_checks import explain_authentication_failure
from idp.oauth.grants.authorization_code import AuthorizationCodeGrant
from idp.oauth.grants.base import ALL_METHODS
from idp.oauth.grants.base import CONFIDENTIAL_METHODS
from idp.oauth.grants.client_credentials import ClientCredentialsGrant
from idp.oauth.grants.openid import OpenIDToken
from idp.oauth.grants.refresh_token import RefreshTokenGrant
from idp.store import store


class ParamsPayload(OAuth2Payload):
    def __init__(self, data: dict, datalist: dict | None):
        self._data = data
        self._datalist = datalist or {k: [v] for k, v in data.items()}

    @property
    def data(self):
        return self._data

    @property
    def datalist(self):
        return self._datalist


class StoredRequest(OAuth2Request):
    """An authorization request built from its parameters: those of this HTTP request, or
    those saved in an interaction record when the flow resumes after login or consent."""

    def __init__(self, params: dict, datalist: dict | None = None):
        super().__init__("GET", current_app.config["ISSUER"] + "/authorize")
        self.payload = ParamsPayload(params, datalist)

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return {}


class AuthorizationServer(FlaskAuthorizationServer):
    def query_client(self, client_id):
        client = get_client(client_id)
        return client if client is not None and client.is_active else None

    def authenticate_client(self, request, methods, endpoint="token"):
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            explain_authentication_failure(error, request, methods, endpoint)
            raise

    def save_token(self, token, request):
        """Grants persist their own records (``TokenIssuing.save_token``)."""

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)


def client_secret_basic(query_client, request):
    """Authlib's ``client_secret_basic``, except that Basic credentials it cannot read (none
    after "Basic", not base64, not UTF-8: RFC 6749 2.3.1) name no client, so the request
    gets ``invalid_client`` (RFC 6749 5.2) instead of an error inside Authlib."""
    if basic_credentials(request.headers) is None:
        return None
    return authenticate_client_secret_basic(query_client, request)


#: Algorithms accepted for client assertions (and advertised in discovery).
CLIENT_ASSERTION_ALGS = ["ES256", "RS256", "PS256"]


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` (OIDC Core 9, RFC 7523 2.2): the client signs an assertion with a
    key from its registered JWKS (or ``jwks_uri``); each ``jti`` is accepted once."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def extract_assertion(self, assertion):
        """As Authlib's, with JSON nested deeper than the parser goes refused like any JSON it
        cannot read (the claims are read before the signature: anyone may send them)."""
        try:
            return super().extract_assertion(assertion)
        except RecursionError:
            raise InvalidClientError(description="Invalid JWT payload.") from None

    def process_assertion_claims(self, assertion, resolve_key):
        """As Authlib's, with the algorithms pinned to those discovery advertises."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=CLIENT_ASSERTION_ALGS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(
                description=describable(f"Invalid client assertion: {exc}")) from None
        self.verify_claims(token.claims)
        return token.claims

    def __init__(self):
        super().__init__(validate_jti=True, leeway=current_app.config["CLIENT_ASSERTION_LEEWAY"])

    def get_audiences(self):
        issuer = current_app.config["ISSUER"]
        return [issuer, issuer + "/token", issuer + "/introspect", issuer + "/revoke"]

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or not jti or len(jti) > 255:
            return False
        ttl = max(1, int(claims["exp"] - time.time()) + self.leeway)
        return store().add(f"jti:{claims['sub']}:{jti}", 1, ttl)

    def resolve_client_public_key(self, client):
        return KeySet.import_key_set(client_jwks(client))


class IntrospectedToken(dict):
    def is_expired(self):
        return self["exp"] <= time.time()

    def is_revoked(self):
        return self["revoked"]

    def check_client(self, client):
        return self["client_id"] == client.client_id


def _lookup(token_string, hint):
    """An access token (JWT) or refresh token (opaque) of ours, expired or not."""
    if not isinstance(token_string, str) or not token_string:
        return None
    looks_like_jwt = token_string.count(".") == 2
    if looks_like_jwt:
        decoded = tokens.verify_jwt(token_string, algs=(tokens.ACCESS_TOKEN_ALG,))
        if decoded is None or decoded.header.get("typ") != "at+jwt":
            return None
        claims = decoded.claims
        return IntrospectedToken(kind="access_token", claims=claims,
                                 client_id=claims.get("client_id"), exp=claims["exp"],
                                 jti=claims["jti"], revoked=tokens.is_revoked(claims)
                                 or tokens.authority_ended(claims))
    row = tokens.find_refresh_token(token_string)
    if row is None:
        return None
    return IntrospectedToken(kind="refresh_token", row=row, client_id=row.client_id,
                             exp=row.refresh_expires_at or 0,
                             revoked=row.revoked_at is not None or row.rotated_at is not None
                             or bool(row.acting) and not enterprise.still_holds(row.user_id,
                                                                                row.acting))


class IntrospectionEndpoint(BaseIntrospectionEndpoint):
    """RFC 7662. A client may introspect only the tokens issued to it. A token acting for an
    enterprise is active only while that authority stands, and says what it grants
    (``authorization_details``, RFC 9396 9.2; ``act``, RFC 8693 2.2.1)."""

    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def authenticate_endpoint_client(self, request):
        """A suspended or pending client still authenticates here (its credentials are checked
        as anywhere else), and every token it asks about is inactive: its resource servers
        learn at once that its tokens no longer count."""
        try:
            client = self.server.any_status_auth(request, self.CLIENT_AUTH_METHODS,
                                                 self.ENDPOINT_NAME)
        except InvalidClientError as error:
            explain_authentication_failure(error, request, self.CLIENT_AUTH_METHODS,
                                           self.ENDPOINT_NAME)
            raise
        request.client = client
        return client

    def query_token(self, token_string, token_type_hint):
        return _lookup(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return client.is_active and token.check_client(client)

    def introspect_token(self, token):
        if token["kind"] == "access_token":
            c = token["claims"]
            payload = {k: c[k] for k in ("scope", "client_id", "sub", "exp", "iat", "iss", "aud",
                                         "jti", "auth_time", "acr", "act",
                                         "authorization_details") if k in c}
            payload["token_type"] = "Bearer"
            return payload
        row = token["row"]
        client = get_client(row.client_id)
        user = db.session.get(User, row.user_id)
        if client is None or user is None or not client.is_active or not user.is_active:
            return {"active": False}
        payload = {"scope": row.scope, "client_id": row.client_id,
                   "sub": subject_for(user, client), "exp": row.refresh_expires_at,
                   "iat": row.issued_at, "iss": current_app.config["ISSUER"],
                   "token_type": "refresh_token"}
        if row.acting:
            payload["act"] = enterprise.act_claim(row.acting, payload["sub"])
            payload["authorization_details"] = row.acting["authorization_details"]
        return payload


class RevocationEndpoint(BaseRevocationEndpoint):
    """RFC 7009. Revoking a refresh token revokes its family (the access tokens too)."""

    CLIENT_AUTH_METHODS = ALL_METHODS

    def query_token(self, token_string, token_type_hint):
        return _lookup(token_string, token_type_hint)

    def revoke_token(self, token, request):
        if token["kind"] == "access_token":
            tokens.revoke_access_token(token["jti"], token["exp"])
        else:
            tokens.revoke_family(token["row"].family_id)


class Issuer(IssuerParameter):
    def get_issuer(self):
        return current_app.config["ISSUER"]


def create_server(app):
    server = AuthorizationServer()
    server.init_app(app)
    server.register_grant(AuthorizationCodeGrant,
                          [AuthorizationChecks(), S256CodeChallenge(), OpenIDToken()])
    server.register_grant(RefreshTokenGrant, [OpenIDToken()])
    server.register_grant(ClientCredentialsGrant)
    with app.app_context():
        private_key_jwt = PrivateKeyJWT()
    server.register_client_auth_method("private_key_jwt", private_key_jwt)
    server.register_client_auth_method("client_secret_basic", client_secret_basic)
    server.any_status_auth = ClientAuthentication(get_client)  # introspection only
    server.any_status_auth.register("private_key_jwt", private_key_jwt)
    server.any_status_auth.register("client_secret_basic", client_secret_basic)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(RevocationEndpoint)
    server.register_extension(Issuer())
    app.extensions["idp.authorization"] = server
    consent_revoked.connect(tokens.revoke_grants, sender=app)
    client_deleted.connect(tokens.revoke_client, sender=app)
    client_deleted.connect(accounts_service.forget_client, sender=app)
    return server


def authorization_server() -> AuthorizationServer:
    return current_app.extensions["idp.authorization"]
