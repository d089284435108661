"""Adds the ID token to token responses of grants that act for a citizen (OIDC Core 3.1.3.3
and 12.2). Replaces Authlib's ``OpenIDCode`` so that refreshes keep the original login's
``auth_time`` and every token carries ``sid``, ``azp`` and the client's algorithm."""

from idp.oauth import tokens


class OpenIDToken:
    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.add_id_token)

    @staticmethod
    def add_id_token(grant, response):
        _, token, _ = response
        request = grant.request
        if request.user is None or "openid" not in (token.get("scope") or "").split():
            return
        code = request.authorization_code
        token["id_token"] = tokens.id_token(
            request.client, request.user, token["scope"], grant.auth_context(),
            access_token=token.get("access_token"), nonce=code.get_nonce() if code else None)
