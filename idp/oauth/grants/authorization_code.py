"""Authorization code grant: codes live in the shared store under their SHA-256, single use,
at most ``AUTHORIZATION_CODE_TTL`` seconds. A second use of a code revokes what the first
issued (RFC 6749 4.1.2, RFC 9700 4.5)."""

import time

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import grants
from flask import current_app

from idp.accounts.models import User
from idp.extensions import db
from idp.oauth import tokens
from idp.oauth.claims import parse_claims_request
from idp.oauth.client_checks import check_client_usable
from idp.oauth.client_checks import check_redirect_uri_registered
from idp.oauth.grants.base import TokenIssuing
from idp.store import store

#: How long a used code is remembered so that its replay can revoke what it issued.
USED_CODE_MEMORY = 600


class AuthorizationCode(dict):
    """A stored code, as Authlib's AuthorizationCodeMixin and OIDC's model expect."""

    def get_redirect_uri(self):
        return self["redirect_uri"]

    def get_scope(self):
        return self["scope"]

    def get_nonce(self):
        return self.get("nonce")

    def get_auth_time(self):
        return self["auth_time"]

    def get_acr(self):
        return self.get("acr")

    def get_amr(self):
        return self.get("amr")

    @property
    def code_challenge(self):
        return self.get("code_challenge")

    @property
    def code_challenge_method(self):
        return self.get("code_challenge_method")


class AuthorizationCodeGrant(TokenIssuing, grants.AuthorizationCodeGrant):
    def validate_authorization_request(self):
        check_client_usable(self.request.payload.client_id)
        return super().validate_authorization_request()

    def validate_authorization_redirect_uri(self, request, client):
        if request.payload.redirect_uri:
            check_redirect_uri_registered(client, request.payload.redirect_uri)
        return super().validate_authorization_redirect_uri(request, client)

    def save_authorization_code(self, code, request):
        login = request.login  # set by the authorize view: the login this code stands for
        ttl = current_app.config["AUTHORIZATION_CODE_TTL"]
        data = request.payload.data
        record = {
            "client_id": request.client.client_id,
            "redirect_uri": request.payload.redirect_uri,
            "scope": request.scope,
            "user_id": request.user.id,
            "nonce": data.get("nonce"),
            "code_challenge": data.get("code_challenge"),
            "code_challenge_method": data.get("code_challenge_method"),
            "auth_time": login.auth_time,
            "acr": login.acr,
            "amr": list(login.amr),
            "sid": login.sid,
            "claims": parse_claims_request(data.get("claims")),  # checked at /authorize
            "acting": request.acting,  # the enterprise the login acts for, or None
            "expires_at": int(time.time()) + ttl,
        }
        store().set("code:" + tokens.sha256(code), record, ttl + 5)

    def query_authorization_code(self, code, client):
        """The code's record, taken once; otherwise ``invalid_grant`` saying why."""
        ttl = current_app.config["AUTHORIZATION_CODE_TTL"]
        unknown = InvalidGrantError(f"The authorization code is unknown or has expired (codes "
                                    f"are valid for {ttl} seconds, once).")
        if not isinstance(code, str) or len(code) > 256:
            raise unknown
        key = tokens.sha256(code)
        record = store().pop("code:" + key)
        if record is None:
            used = store().get("code-used:" + key)
            if used is None:
                raise unknown
            tokens.revoke_family(used["family_id"])
            raise InvalidGrantError("The authorization code was already used; the tokens "
                                    "issued for it have been revoked.")
        family_id = tokens.new_id()
        store().set("code-used:" + key, {"family_id": family_id}, USED_CODE_MEMORY)
        if record["client_id"] != client.client_id:
            raise InvalidGrantError("The authorization code was issued to another client.")
        if record["expires_at"] <= time.time():
            raise InvalidGrantError(f"The authorization code has expired (codes are valid for "
                                    f"{ttl} seconds).")
        record["family_id"] = family_id
        return AuthorizationCode(record)

    def delete_authorization_code(self, authorization_code):
        """Nothing left to delete: ``query_authorization_code`` took the code atomically."""

    def authenticate_user(self, authorization_code):
        user = db.session.get(User, authorization_code["user_id"])
        if user is None or not user.is_active:
            raise InvalidGrantError("The account behind this code can no longer log in.")
        self.check_authority(user, authorization_code.get("acting"))
        return user

    def auth_context(self):
        code = self.request.authorization_code
        return {k: code.get(k) for k in ("auth_time", "acr", "amr", "sid", "family_id",
                                          "claims", "acting")}
