"""Client credentials grant: a machine-to-machine JWT access token, nothing stored (the hot
path is one client lookup and one ES256 signature)."""

from authlib.oauth2.rfc6749 import grants

from idp.oauth.grants.base import CONFIDENTIAL_METHODS
from idp.oauth.grants.base import TokenIssuing


class ClientCredentialsGrant(TokenIssuing, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS
