"""A small relying party written against the specifications only (no code of the provider):
the authorization code flow with PKCE, a session cookie of its own, RP-initiated logout, and a
back-channel logout endpoint that verifies logout tokens as OpenID Connect Back-Channel
Logout 1.0 2.6 says (signature against the provider's JWKS with the key named by ``kid``,
``typ: logout+jwt``, ``iss``, ``aud``, ``iat``, ``exp``, the logout event, ``sid`` or
``sub``, no ``nonce``, each ``jti`` once) and ends the sessions it names."""

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.request
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

EVENT = "http://schemas.openid.net/event/backchannel-logout"
COOKIE = "pyrp_session"


class LogoutTokenError(ValueError):
    pass


class PythonPlatform:
    def __init__(self, issuer):
        self.issuer = issuer
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.rp = self
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.redirect_uri = self.base + "/cb"
        self.backchannel_logout_uri = self.base + "/backchannel"
        self.post_logout_redirect_uri = self.base + "/bye"
        self.frontchannel_logout_uri = self.base + "/frontchannel"
        self.client_id = self.client_secret = None
        self.pending = {}  # state -> (nonce, verifier)
        self.sessions = {}  # cookie value -> {"sub", "sid", "id_token"}
        self.seen_jti = set()
        self.logout_tokens = []  # verified claims
        self.refused = []  # why tokens were refused
        self.frontchannel = []  # the (iss, sid) of each front-channel logout page loaded
        self.lock = threading.Lock()
        self._metadata = None

    def start(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # --- what the provider publishes ----------------------------------------------------------

    def metadata(self):
        if self._metadata is None:
            with urllib.request.urlopen(  # noqa: S310 (a loopback test server)
                    self.issuer + "/.well-known/openid-configuration", timeout=5) as r:
                self._metadata = json.load(r)
        return self._metadata

    def jwks(self):
        with urllib.request.urlopen(self.metadata()["jwks_uri"], timeout=5) as r:  # noqa: S310
            return KeySet.import_key_set(json.load(r))

    # --- login ----------------------------------------------------------------------------------

    def login_url(self):
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        self.pending[state] = (nonce, verifier)
        return self.metadata()["authorization_endpoint"] + "?" + urlencode({
            "response_type": "code", "client_id": self.client_id, "scope": "openid",
            "redirect_uri": self.redirect_uri, "state": state, "nonce": nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256"})

    def callback(self, query):
        nonce, verifier = self.pending.pop(query["state"])
        if query.get("iss") != self.issuer:
            raise ValueError("wrong iss in the authorization response")
        body = urlencode({"grant_type": "authorization_code", "code": query["code"],
                          "redirect_uri": self.redirect_uri,
                          "code_verifier": verifier}).encode()
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310
            self.metadata()["token_endpoint"], data=body,
            headers={"Authorization": "Basic " + basic,
                     "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=5) as r:  # noqa: S310
            id_token = json.load(r)["id_token"]
        claims = jwt.decode(id_token, self.jwks(), algorithms=["ES256"]).claims
        if (claims["iss"], claims["aud"], claims.get("nonce")) != (
                self.issuer, self.client_id, nonce):
            raise ValueError("the ID token is not for this login")
        cookie = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[cookie] = {"sub": claims["sub"], "sid": claims["sid"],
                                     "id_token": id_token}
        return cookie

    def logout_request(self, cookie):
        """RP-initiated logout: the local session ends, the browser goes to the provider."""
        with self.lock:
            session = self.sessions.pop(cookie, None)
        query = {"post_logout_redirect_uri": self.post_logout_redirect_uri, "state": "bye"}
        if session:
            query["id_token_hint"] = session["id_token"]
        return self.metadata()["end_session_endpoint"] + "?" + urlencode(query)

    # --- back-channel logout ---------------------------------------------------------------------

    def verify_logout_token(self, token):
        try:
            decoded = jwt.decode(token, self.jwks(), algorithms=["ES256", "RS256"])
        except Exception as exc:  # any failure to verify is a refusal
            raise LogoutTokenError(f"signature: {exc}") from None
        header, claims = decoded.header, decoded.claims
        now = time.time()
        checks = [
            (header.get("typ") == "logout+jwt", "typ"),
            (bool(header.get("kid")), "kid"),
            (claims.get("iss") == self.issuer, "iss"),
            (claims.get("aud") == self.client_id or self.client_id in (claims.get("aud") or []),
             "aud"),
            (isinstance(claims.get("iat"), int) and abs(claims["iat"] - now) < 600, "iat"),
            (isinstance(claims.get("exp"), int) and claims["exp"] > now, "exp"),
            (isinstance(claims.get("events"), dict) and claims["events"].get(EVENT) == {},
             "events"),
            ("nonce" not in claims, "nonce"),
            (bool(claims.get("sid") or claims.get("sub")), "sid/sub"),
            (isinstance(claims.get("jti"), str) and claims["jti"] not in self.seen_jti, "jti"),
        ]
        for ok, name in checks:
            if not ok:
                raise LogoutTokenError(name)
        self.seen_jti.add(claims["jti"])
        return claims

    def frontchannel_logout(self, iss, sid):
        """Front-Channel Logout 1.0 3: the page loaded in the provider's frame."""
        self.frontchannel.append((iss, sid))
        if iss == self.issuer and sid:
            self.end_sessions(sid=sid)

    def end_sessions(self, sid=None, sub=None):
        with self.lock:
            for cookie, session in list(self.sessions.items()):
                if session["sid"] == sid or (sid is None and session["sub"] == sub):
                    del self.sessions[cookie]

    def backchannel_logout(self, token):
        claims = self.verify_logout_token(token)
        self.end_sessions(sid=claims.get("sid"), sub=claims.get("sub"))
        self.logout_tokens.append(claims)


class _Handler(BaseHTTPRequestHandler):
    def _cookie(self):
        jar = SimpleCookie(self.headers.get("Cookie") or "")
        return jar[COOKIE].value if COOKIE in jar else None

    def _answer(self, status, body="", headers=()):
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's name)
        rp, parts = self.server.rp, urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/login":
            return self._answer(302, headers=[("Location", rp.login_url())])
        if parts.path == "/cb":
            cookie = rp.callback(query)
            return self._answer(302, headers=[
                ("Location", "/me"), ("Set-Cookie", f"{COOKIE}={cookie}; Path=/; HttpOnly")])
        if parts.path == "/me":
            session = rp.sessions.get(self._cookie())
            if session is None:
                return self._answer(401, '<p id="who">not logged in</p>')
            return self._answer(200, f'<p id="who">logged in as {session["sub"]}</p>')
        if parts.path == "/logout":
            return self._answer(302, headers=[("Location", rp.logout_request(self._cookie()))])
        if parts.path == "/frontchannel":
            rp.frontchannel_logout(query.get("iss"), query.get("sid"))
            return self._answer(200, "<!doctype html><title>logged out</title>")
        if parts.path == "/bye":
            return self._answer(200, f'<p id="bye">logged out ({query.get("state")})</p>')
        return self._answer(404, "not found")

    def do_POST(self):  # noqa: N802
        rp = self.server.rp
        if self.path != "/backchannel":
            return self._answer(404, "not found")
        length = int(self.headers.get("Content-Length") or 0)
        fields = parse_qs(self.rfile.read(length).decode())
        try:
            if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                raise LogoutTokenError("content type")
            rp.backchannel_logout(fields["logout_token"][0])
        except (LogoutTokenError, KeyError) as exc:
            rp.refused.append(str(exc))
            return self._answer(400, "invalid logout token")
        return self._answer(200)

    def log_message(self, *args):
        pass
