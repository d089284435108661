"""Refresh token grant with rotation: each refresh token works once; presenting a used one
revokes its whole family (RFC 9700 4.14.2). The original login (``auth_time``, ``acr``,
``amr``, ``sid``, the enterprise it acts for) is carried through; acting for an enterprise
needs the authority to stand still."""

import time

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import grants

from idp.accounts.models import User
from idp.extensions import db
from idp.oauth import tokens
from idp.oauth.grants.base import TokenIssuing


class RefreshTokenGrant(TokenIssuing, grants.RefreshTokenGrant):
    INCLUDE_NEW_REFRESH_TOKEN = True

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
        self.check_authority(user, refresh_token.acting)
        if not tokens.claim_refresh_token(refresh_token):
            tokens.revoke_family(refresh_token.family_id)
            raise InvalidGrantError()
        return user

    def revoke_old_credential(self, refresh_token):
        """Already done: ``authenticate_user`` claimed the token atomically before issuing."""

    def auth_context(self):
        return self.request.refresh_token.context()
