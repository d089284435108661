"""Unified identity authentication provider: the Flask application factory."""

import logging
import os
from urllib.parse import urlencode

from flask import Flask
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask_babel import get_locale
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix

import config

LANG_COOKIE = "idp_lang"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(overrides=None):
    """Build an app. ``overrides`` (a dict) wins over files and the environment (tests)."""
    from idp.devenv import instance_dir

    app = Flask(__name__, template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"), instance_path=instance_dir())
    config.load(app, overrides)
    from idp.ids import RowIdConverter
    from idp.json_input import InputJSON

    app.json = InputJSON(app)  # request bodies nested too deeply are bad JSON, not a 500

    app.url_map.converters["int"] = RowIdConverter  # ids beyond the database's match nothing
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if app.config["ALLOW_INSECURE_HTTP"]:
        # Authlib refuses plain http outside loopback unless told; only for test hosts.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    if app.config["TRUSTED_PROXY_HOPS"]:
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from clients import cache as clients_cache
    from idp.extensions import babel
    from idp.extensions import csrf
    from idp.extensions import db
    from idp.extensions import limiter
    from idp.extensions import migrate
    from idp.keys.service import KeyRing
    from idp.store import init_store

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(ROOT, "translations"))
    init_store(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_PREFIX"])
    limiter.init_app(app)
    _limits_in_views_only(app, limiter)
    app.extensions["idp.keyring"] = KeyRing()
    clients_cache.init_app(app)

    _register_models()
    from clients.registration import bp as client_registration_bp
    from idp import errors
    from idp.accounts import dev_outbox  # noqa: F401  (its routes join accounts_bp)
    from idp.accounts import email_pages  # noqa: F401  (its routes join account_bp)
    from idp.accounts import second_factor  # noqa: F401  (its routes join accounts_bp)
    from idp.accounts.registration import bp as registration_bp
    from idp.accounts.self_service import bp as account_bp
    from idp.accounts.sessions import apply_cookie
    from idp.accounts.views import bp as accounts_bp
    from idp.admin.api import bp as admin_api_bp
    from idp.admin.console import bp as admin_bp
    from idp.enterprise import admin_api as _enterprise_api  # noqa: F401  (joins admin_api_bp)
    from idp.enterprise import console as _enterprise_console  # noqa: F401  (joins admin_bp)
    from idp.enterprise.views import bp as enterprise_bp
    from idp.federation import api as upstreams_api  # noqa: F401  (joins admin_api_bp)
    from idp.federation import console as upstreams_console  # noqa: F401  (joins admin_bp)
    from idp.federation import views as federation
    from idp.logout import init_app as init_logout
    from idp.logout.views import bp as logout_bp
    from idp.oauth.discovery import bp as discovery_bp
    from idp.oauth.server import create_server
    from idp.oauth.views import bp as oauth_bp
    from idp.realname import counter  # noqa: F401  (its routes join realname_bp)
    from idp.realname.views import bp as realname_bp

    create_server(app)
    init_logout(app)
    # Protocol and JSON APIs are called by servers, often many behind one address:
    # address-based limits apply to the interactive pages only. (Dynamic registration is
    # limited per initial access token instead.)
    for blueprint in (discovery_bp, oauth_bp, client_registration_bp, admin_api_bp):
        limiter.exempt(blueprint)
    for blueprint in (client_registration_bp, discovery_bp, oauth_bp, accounts_bp, account_bp,
                      registration_bp, realname_bp, admin_bp, admin_api_bp, enterprise_bp,
                      federation.bp, logout_bp):
        app.register_blueprint(blueprint)
    federation.init_app(app)
    if app.config["DEV_REGISTRY_MOUNT"]:
        from idp.enterprise.devregistry import bp as dev_enterprise_registry_bp
        from idp.realname.devregistry import bp as dev_registry_bp

        for dev_bp in (dev_registry_bp, dev_enterprise_registry_bp):
            limiter.exempt(dev_bp)
            app.register_blueprint(dev_bp, url_prefix="/dev/registry")
    errors.register(app)
    app.after_request(apply_cookie)
    app.before_request(_refuse_nul_characters)
    app.after_request(_security_headers)
    app.jinja_env.globals.update(lang_query=lang_query, current_lang_tag=current_lang_tag)

    from idp.cli import register_commands

    register_commands(app)
    return app


def _limits_in_views_only(app, limiter):
    """Flask-Limiter checks every request in a before_request hook, for application-wide and
    default limits. We configure none: our limits are decorators on the interactive views,
    which check inside the view. Dropping the hook keeps the protocol hot path (token, JWKS,
    discovery) free of its cost (about a third of a JWKS request here)."""
    hook = limiter._check_request_limit
    app.before_request_funcs[None] = [f for f in app.before_request_funcs.get(None, [])
                                      if f != hook]


def _register_models():
    """Import every model so Flask-Migrate sees the whole schema."""
    import clients.models  # noqa: F401
    import idp.accounts.models  # noqa: F401
    import idp.admin.models  # noqa: F401
    import idp.audit.models  # noqa: F401
    import idp.enterprise.models  # noqa: F401
    import idp.federation.models  # noqa: F401
    import idp.keys.models  # noqa: F401
    import idp.logout.models  # noqa: F401
    import idp.oauth.models  # noqa: F401
    import idp.realname.models  # noqa: F401
    import mfa.models  # noqa: F401


def select_locale():
    """``?lang=``, then the relying party's ``ui_locales``, then the language cookie, then the
    browser's Accept-Language; Chinese (zh_CN) by default."""
    if not has_request_context():  # the CLI speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    supported = current_app.config["LANGUAGES"]
    explicit = [request.args.get("lang", "")]
    explicit += (g.get("ui_locales") or "").split()
    explicit.append(request.cookies.get(LANG_COOKIE, ""))
    for tag in explicit:
        match = _match(tag, supported)
        if match:
            g.chosen_lang = match
            return match
    for tag, _quality in request.accept_languages:
        match = _match(tag, supported)
        if match:
            return match
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _match(tag, supported):
    tag = (tag or "").replace("-", "_").lower()
    if not tag:
        return None
    for lang in supported:
        if tag == lang.lower() or tag.split("_")[0] == lang.lower().split("_")[0]:
            return lang
    return None


def lang_query(tag):
    args = request.args.to_dict()
    args["lang"] = tag
    return urlencode(args)


def current_lang_tag():
    locale = get_locale()
    return f"{locale.language}-{locale.territory}" if locale.territory else locale.language


def _refuse_nul_characters():
    """No identifier, code or token of ours contains U+0000, and PostgreSQL refuses it in text:
    answer such input as the bad request it is instead of failing later."""
    for values in (request.args, request.form):
        for value in values.values():
            if "\x00" in value:
                from idp.errors import error_page

                return error_page("invalid_request",
                                  gettext("The request contains a character that is not "
                                          "allowed (NUL)."), 400)
    return None


#: Endpoints that browser-based relying parties (public clients) call from script. None of
#: them authenticates by cookie, so any origin may read their answers.
CORS_PATHS = ("/token", "/userinfo", "/revoke", "/jwks.json", "/.well-known/")


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith(CORS_PATHS):
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST"
            response.headers["Access-Control-Max-Age"] = "600"
    # same-origin: Flask-WTF checks the Referer of form posts under https; nothing leaks out.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
        policy = ("default-src 'self'; style-src 'self' 'unsafe-inline'; "
                  "frame-ancestors 'none'; form-action 'self' http: https:")
        if g.get("frame_origins"):  # the platforms' front-channel logout pages (idp.logout)
            policy += "; frame-src " + " ".join(g.frame_origins)
        response.headers.setdefault("Content-Security-Policy", policy)
    if g.get("chosen_lang") and request.args.get("lang"):
        response.set_cookie(LANG_COOKIE, g.chosen_lang, max_age=365 * 24 * 3600,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"],
                            httponly=True)
    return response
