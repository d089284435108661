"""Refresh token grant with rotation: each refresh token works once; presenting a used one
revokes its whole family (RFC 9700 4.14.2). The original login (``auth_time``, ``acr``,
``amr``, ``sid``, the enterprise it acts for) is carried through; acting for an enterprise
needs the authority to stand still, and the client to be registered for enterprises still.
The scope is what was granted (or the narrower one asked for) less what the client is no
longer registered for: an operator who takes a scope away from a platform takes it from its
refresh tokens at their next use."""

import time

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import grants

from idp.accounts.models import User
from idp.extensions import db
from idp.oauth import tokens
from idp.oauth.checks import check_scope
from idp.oauth.checks import registered_for_enterprises
from idp.oauth.grants.base import TokenIssuing


class RefreshTokenGrant(TokenIssuing, grants.RefreshTokenGrant):
    INCLUDE_NEW_REFRESH_TOKEN = True

    def validate_token_request(self):
        super().validate_token_request()
        check_scope(self)  # a scope asked for (within the grant) must still be registered

    def authenticate_refresh_token(self, refresh_token):
        row = tokens.find_refresh_token(refresh_token)
        if row is None:
            return None
        if row.rotated_at is not None or row.revoked_at is not None:
            tokens.revoke_family(row.family_id)
            return None
        if row.refresh_expires_at is None or row.refresh_expires_at <= time.time():
            return None
        return row

    def authenticate_user(self, refresh_token):
        user = db.session.get(User, refresh_token.user_id)
        if user is None or not user.is_active:
            raise InvalidGrantError("The account behind this token can no longer log in.")
        if refresh_token.acting and not registered_for_enterprises(self.request.client):
            raise InvalidGrantError("This client is no longer registered for enterprise "
                                    "identities: a token acting for an enterprise cannot be "
                                    "refreshed.")
        self.check_authority(user, refresh_token.acting)
        if not tokens.claim_refresh_token(refresh_token):
            tokens.revoke_family(refresh_token.family_id)
            raise InvalidGrantError()
        return user

    def issue_token(self, user, refresh_token):
        registered = self.request.client.scope.split()
        scope = self.request.payload.scope or refresh_token.get_scope()
        return self.generate_token(user=user, scope=" ".join(
            s for s in scope.split() if s in registered),
            include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN)

    def revoke_old_credential(self, refresh_token):
        """Already done: ``authenticate_user`` claimed the token atomically before issuing."""

    def auth_context(self):
        return self.request.refresh_token.context()
