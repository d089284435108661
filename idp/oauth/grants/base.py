"""What every grant of ours shares: client authentication methods, scope checks, and token
issuance through ``idp.oauth.tokens`` (one place that builds and stores tokens)."""

from authlib.oauth2.rfc6749 import InvalidGrantError

from clients.validation import AUTH_METHODS
from idp.enterprise import service as enterprise
from idp.oauth import tokens
from idp.oauth.checks import check_scope

#: The methods a client may register (``clients.validation``), ``none`` for public clients.
ALL_METHODS = list(AUTH_METHODS)
CONFIDENTIAL_METHODS = [m for m in ALL_METHODS if m != "none"]


class TokenIssuing:
    """Mixin for Authlib grants. Subclasses provide ``auth_context()``."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS

    def validate_requested_scope(self):
        """RFC 6749 3.3: a scope the client is not registered for is ``invalid_scope``."""
        check_scope(self)

    def auth_context(self):
        return {}

    @staticmethod
    def check_authority(user, acting):
        """A grant acting for an enterprise gets tokens only while that authority stands."""
        if acting and not enterprise.still_holds(user.id, acting):
            raise InvalidGrantError("The authority to act for the enterprise has ended "
                                    "(the enterprise, the appointment or the authorisation).")

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        token, self._record = tokens.issue(
            self.request.client, grant_type or self.GRANT_TYPE, user, scope,
            self.auth_context(), include_refresh_token)
        return token

    def save_token(self, token):
        tokens.persist(self._record)
