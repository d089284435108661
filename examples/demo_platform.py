"""A regional platform for the demo (``examples/run.sh``): a small Flask app that logs citizens
in with the national provider through Authlib's OpenID Connect client, and shows how a
platform takes part in logout everywhere:

* RP-initiated logout: "Log out" sends the browser to the provider's ``end_session_endpoint``
  with the ID token as ``id_token_hint`` and comes back to the home page;
* back-channel logout: ``POST /backchannel-logout`` takes a ``logout_token``, verifies it (the
  provider's JWKS, ``typ``, ``iss``, ``aud``, ``iat``, ``events``, no ``nonce``, each ``jti``
  once) and ends this platform's sessions of that provider session (``sid``) or citizen
  (``sub``).

Sessions are kept here, server side (a cookie holds only their id), so a back-channel logout
can end them. Everything lives in memory: restart and everyone is logged out.

    CLIENT_SECRET=… python examples/demo_platform.py --name 社保服务平台 --port 5202 \\
        --issuer http://127.0.0.1:5200 --client-id … [--other http://127.0.0.1:5203/]

(the client secret comes from the environment, not the command line, which others can see).
"""

import argparse
import html
import os
import secrets
import threading
import time

import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Clock skew allowed on a logout token's ``iat`` and ``exp`` (seconds).
LEEWAY = 120
HTTP = requests.Session()
HTTP.trust_env = False  # no *_proxy detours for calls to the provider


def create_app(name, issuer, client_id, client_secret, other=None):
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(32)
    # two platforms on one host share cookies by name: each has its own
    app.config["SESSION_COOKIE_NAME"] = "platform-" + secrets.token_hex(4)
    oauth = OAuth(app)
    provider = oauth.register(
        "national", client_id=client_id, client_secret=client_secret,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile phone", "code_challenge_method": "S256",
                       "trust_env": False, "default_timeout": 10})
    sessions = {}  # local session id -> what the login said
    seen_jti = {}
    lock = threading.Lock()

    def current():
        with lock:
            return sessions.get(session.get("id", ""))

    def page(body):
        return (f"<!doctype html><meta charset=utf-8><title>{html.escape(name)}</title>"
                "<body style='font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto'>"
                f"<h1>{html.escape(name)}</h1>{body}"
                + (f"<p><a href='{html.escape(other)}'>The other platform</a></p>" if other
                   else "") + "</body>")

    @app.get("/")
    def home():
        found = current()
        if found is None:
            return page("<p>You are not logged in.</p>"
                        f"<p><a href='{url_for('login')}'>Log in with the national identity "
                        "provider</a></p>")
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(found[k]))}</td></tr>"
                       for k in ("name", "sub", "acr", "amr", "sid"))
        return page(f"<p>Logged in.</p><table>{rows}</table>"
                    f"<form method=post action='{url_for('logout')}'><button>Log out "
                    "everywhere</button></form>")

    @app.get("/login")
    def login():
        return provider.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback():
        if "error" in request.args:
            return page(f"<p>The login did not happen: {html.escape(request.args['error'])}"
                        f"</p><p><a href='{url_for('home')}'>Back</a></p>"), 400
        token = provider.authorize_access_token()
        claims = token["userinfo"]  # the verified ID token (nonce, iss, aud, exp, signature)
        info = provider.userinfo(token=token)
        local = secrets.token_urlsafe(24)
        with lock:
            sessions[local] = {"name": info.get("name", ""), "sub": claims["sub"],
                               "acr": claims.get("acr"), "amr": claims.get("amr"),
                               "sid": claims.get("sid"), "id_token": token["id_token"]}
        session["id"] = local
        return redirect(url_for("home"))

    @app.post("/logout")
    def logout():
        found = current()
        with lock:
            sessions.pop(session.pop("id", ""), None)
        if found is None:
            return redirect(url_for("home"))
        return redirect(provider.create_logout_url(
            post_logout_redirect_uri=url_for("home", _external=True),
            id_token_hint=found["id_token"])["url"])

    def keys():
        meta = provider.load_server_metadata()
        answer = HTTP.get(meta["jwks_uri"], timeout=10)
        answer.raise_for_status()
        return KeySet.import_key_set(answer.json()), meta

    @app.post("/backchannel-logout")
    def backchannel_logout():
        """OpenID Connect Back-Channel Logout 1.0, section 2.6."""
        try:
            key_set, meta = keys()
            token = jwt.decode(request.form.get("logout_token", ""), key_set,
                               algorithms=meta.get("id_token_signing_alg_values_supported"))
            claims, now = token.claims, int(time.time())
            problems = [
                token.header.get("typ") != "logout+jwt" and "typ",
                claims.get("iss") != meta["issuer"] and "iss",
                claims.get("aud") not in (client_id, [client_id]) and "aud",
                not isinstance(claims.get("iat"), int) or abs(now - claims["iat"]) > 600 and "iat",
                isinstance(claims.get("exp"), int) and claims["exp"] < now - LEEWAY and "exp",
                BACKCHANNEL_EVENT not in (claims.get("events") or {}) and "events",
                "nonce" in claims and "nonce",
                not (claims.get("sid") or claims.get("sub")) and "sid or sub",
                not claims.get("jti") and "jti",
            ]
            problem = next((p for p in problems if p), None)
        except (JoseError, ValueError, requests.RequestException) as exc:
            problem = str(exc) or exc.__class__.__name__
        if problem is None:
            with lock:
                if claims["jti"] in seen_jti:
                    problem = "jti seen before"
                seen_jti[claims["jti"]] = now
        if problem:
            return {"error": "invalid_request", "error_description": problem}, 400, {
                "Cache-Control": "no-store"}
        with lock:
            for local, found in list(sessions.items()):
                if (claims.get("sid") and found["sid"] == claims["sid"]) or (
                        not claims.get("sid") and found["sub"] == claims.get("sub")):
                    del sessions[local]
        return "", 200, {"Cache-Control": "no-store"}

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--other", default=None, help="The other platform's address.")
    args = parser.parse_args()
    if not os.environ.get("CLIENT_SECRET"):
        parser.error("CLIENT_SECRET is not set")
    app = create_app(args.name, args.issuer, args.client_id, os.environ["CLIENT_SECRET"],
                     args.other)
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
