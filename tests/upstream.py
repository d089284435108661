"""A regional identity provider for brokering tests: a second instance of this provider, with
its own database, store and issuer (``http://localhost:<port>``, so its cookies never meet
the national provider's on 127.0.0.1), served on a loopback port; a citizen's browser there;
and a man in the middle that re-signs its ID tokens, for the forged answers."""

import base64
import contextlib
import json
import re
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

from tests import factories as f
from tests.conftest import make_app
from tests.conftest import serve_in_thread

PHONE = "13900139000"
PASSWORD = "Regional-Passw0rd!"


class Tamper:
    """WSGI middleware in front of the regional provider: with ``claims`` set, the ID token of
    each token response is re-signed with ``key`` after ``claims`` are merged into it; with
    ``publish``, ``key`` is in its JWKS too, under its own ``kid`` (so the signature verifies
    and the claims are what is tested); without, the token names the regional key's ``kid``
    unless ``kid`` says otherwise."""

    def __init__(self, app):
        self.app = app
        self.key = ECKey.generate_key("P-256", parameters={"kid": "tamper"})
        self.claims = None
        self.kid = None
        self.publish = False

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if not ((path == "/token" and self.claims is not None)
                or (path == "/jwks.json" and self.publish)):
            return self.app(environ, start_response)
        seen = {}

        def capture(status, headers, exc_info=None):
            seen.update(status=status, headers=headers)
            return lambda data: None

        data = json.loads(b"".join(self.app(environ, capture)))
        if path == "/token" and "id_token" in data:
            header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
                               for part in data["id_token"].split(".")[:2])
            kid = self.kid or ("tamper" if self.publish else header["kid"])
            data["id_token"] = jwt.encode({"alg": "ES256", "kid": kid},
                                          {**payload, **self.claims}, self.key)
        if path == "/jwks.json":
            data["keys"].append(self.key.as_dict(private=False))
        body = json.dumps(data).encode()
        headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
        start_response(seen["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


class Regional:
    """A running regional provider: ``app``, ``issuer``, the national provider registered as
    its client (``client_id``, ``client_secret``, for the upstream ``slug``) and a citizen
    (``PHONE`` / ``PASSWORD``)."""

    def __init__(self, server, app, tamper, national_issuer, slug):
        self.server, self.app, self.tamper, self.slug = server, app, tamper, slug
        self.issuer = app.config["ISSUER"]
        self.callback = f"{national_issuer}/upstream/{slug}/callback"
        with app.app_context():
            f.user(phone=PHONE, password=PASSWORD, name="王五")
            self.client_id, self.client_secret = f.rp(
                name="国家统一身份认证", redirect_uris=(self.callback,),
                scope="openid profile phone", post_logout_redirect_uris=[self.callback])

    def register_at(self, app, actor="test", **values):
        """Register this provider at the national ``app`` (``idp.federation.service.add``)."""
        from idp.federation import service

        data = {"slug": self.slug, "name": f"{self.slug} 政务服务网", "issuer": self.issuer,
                "client_id": self.client_id, "client_secret": self.client_secret,
                "max_level": 2, **values}
        with app.app_context():
            return service.view(service.add(data, actor=actor))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def regional(tmp_path, national_issuer, slug="zj"):
    """A regional provider for the national provider at ``national_issuer``."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    issuer = f"http://localhost:{server.server_port}"
    app = make_app(f"sqlite:///{tmp_path / (slug + '-regional.db')}", ISSUER=issuer)
    tamper = Tamper(app)
    server.app = tamper
    serve_in_thread(server)
    provider = Regional(server, app, tamper, national_issuer, slug)
    try:
        yield provider
    finally:
        with contextlib.suppress(OSError):
            provider.stop()


class Citizen:
    """A citizen's browser at the regional provider (its own cookie jar)."""

    def __init__(self, provider):
        self.provider = provider
        self.http = requests.Session()
        self.http.trust_env = False

    def _form(self, html, marker):
        """(action, fields) of the form whose markup holds ``marker``."""
        for found in re.finditer(r'<form method="post" action="([^"]+)"(.*?)</form>', html,
                                 re.S):
            if marker in found.group(0):
                fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                         found.group(2)))
                return found.group(1).replace("&amp;", "&"), fields
        raise AssertionError(f"no form with {marker!r}: {html[:800]}")

    def visit(self, url, method="GET", data=None):
        """Follow the regional provider's redirects; stop at one of its pages, or at a
        redirect elsewhere (returned as ("redirect", url))."""
        response = self.http.request(method, url, data=data, allow_redirects=False, timeout=10)
        while response.status_code in (302, 303):
            target = urljoin(response.url, response.headers["Location"])
            if not target.startswith(self.provider.issuer):
                return "redirect", target
            response = self.http.get(target, allow_redirects=False, timeout=10)
        return "page", response

    def log_in(self, url, phone=PHONE, password=PASSWORD, decision="allow"):
        """From the authorization URL to the national callback URL (logging in, and
        answering the consent page — ``decision`` — the first time)."""
        kind, result = self.visit(url)
        if kind == "page" and 'autocomplete="current-password"' in result.text:
            action, fields = self._form(result.text, 'autocomplete="current-password"')
            fields.update(username=phone, password=password)
            kind, result = self.visit(urljoin(self.provider.issuer, action), "POST", fields)
        if kind == "page" and 'name="decision"' in result.text:
            action, fields = self._form(result.text, 'name="decision"')
            fields["decision"] = decision
            kind, result = self.visit(urljoin(self.provider.issuer, action), "POST", fields)
        assert kind == "redirect", result.text[:800]
        return result


def path_of(url):
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def upstream_form(html):
    """(action, fields) of the login page's form of regional providers."""
    found = re.search(r'<form method="post" action="([^"]+)" id="upstreams".*?</form>', html,
                      re.S)
    assert found, html[:1500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             found.group(0)))
    return found.group(1), fields


def federated_form(html):
    """(action, hidden fields) of the first form on the first-login page."""
    found = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert found, html[:1500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                             found.group(2)))
    return found.group(1), fields
