"""Builders for accounts and clients, and a browser-like driver for the login flow."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from clients.service import create_client
from idp.accounts.service import create_user

#: A production configuration that starts (secrets are throw-away test values).
PRODUCTION = {"ENV_NAME": "production", "ISSUER": "https://idp.gov.example",
              "SECRET_KEY": "s" * 40,
              "KEY_ENCRYPTION_KEY": "dGVzdGluZy1rZXktZW5jcnlwdGlvbi1rZXktMzItYnk=",
              "PAIRWISE_SECRET": "p" * 40,
              "SQLALCHEMY_DATABASE_URI": "postgresql://idp@db.gov.example/idp",  # never opened
              "SMS_SENDER": "http", "SMS_GATEWAY_URL": "https://sms.gov.example/v1/send",
              "SMS_GATEWAY_SECRET": "g" * 40, "EMAIL_SENDER": "smtp",
              "EMAIL_SMTP_HOST": "smtp.gov.example", "EMAIL_FROM": "noreply@idp.gov.example",
              "PII_KEYS": "k1:dGVzdGluZy1rZXktZW5jcnlwdGlvbi1rZXktMzItYnk=",
              "BLIND_INDEX_KEY": "b" * 40,
              "REALNAME_REGISTRY_URL": "https://registry.gov.example/api",
              "REALNAME_REGISTRY_SECRET": "r" * 40}

PASSWORD = "S3cure-Passw0rd!"
REDIRECT_URI = "http://127.0.0.1:9000/cb"


def user(phone="13800138000", password=PASSWORD, name="张三", **kw):
    return create_user(phone=phone, password=password, name=name, **kw)


def rp(name="Platform A", redirect_uris=(REDIRECT_URI,), scope="openid profile phone", **kw):
    """A relying party; returns (client_id, client_secret)."""
    client, secret = create_client(name=name, redirect_uris=list(redirect_uris), scope=scope,
                                   **kw)
    return client.client_id, secret


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_params(client_id, challenge, **overrides):
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
              "scope": "openid profile", "state": "st-" + secrets.token_hex(4),
              "nonce": "n-" + secrets.token_hex(4), "code_challenge": challenge,
              "code_challenge_method": "S256"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def form_of(html):
    """(action, fields) of the first form on a page, with its hidden inputs."""
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return action.replace("&amp;", "&"), fields


def claims_of(app, token):
    """A JWT of this provider, verified against its published keys."""
    from joserfc import jwt

    from idp.keys.service import keyring

    with app.app_context():
        return jwt.decode(token, keyring().public_keys(), algorithms=["ES256", "RS256"])


def query(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Flow:
    """Drives /authorize like a browser (the test client keeps cookies)."""

    def __init__(self, http, base_url="http://localhost"):
        self.http = http
        self.base_url = base_url

    def get(self, path, **kw):
        return self.http.get(path, base_url=self.base_url, **kw)

    def post(self, path, **kw):
        # browsers send a same-origin Referer (Referrer-Policy: same-origin); CSRF checks it
        headers = {"Referer": self.base_url + "/", **kw.pop("headers", {})}
        return self.http.post(path, base_url=self.base_url, headers=headers, **kw)

    def start(self, params):
        return self.get("/authorize", query_string=params)

    def follow(self, response):
        """Follow same-origin redirects; stop at a page or at a redirect to another origin."""
        while response.status_code in (302, 303) and response.headers["Location"].startswith("/"):
            response = self.get(response.headers["Location"])
        return response

    def login(self, page, username="13800138000", password=PASSWORD):
        action, fields = form_of(page.get_data(as_text=True))
        fields.update(username=username, password=password)
        return self.follow(self.post(action, data=fields))

    def consent(self, page, decision="allow"):
        action, fields = form_of(page.get_data(as_text=True))
        fields["decision"] = decision
        return self.follow(self.post(action, data=fields))

    def code(self, params, username="13800138000", password=PASSWORD):
        """Full login + consent; returns the query of the final redirect to the client."""
        page = self.follow(self.start(params))
        if 'autocomplete="current-password"' in page.get_data(as_text=True):
            page = self.login(page, username, password)
        if page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True):
            page = self.consent(page)
        assert page.status_code == 302, page.get_data(as_text=True)[:500]
        return query(page.headers["Location"])
