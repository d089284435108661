"""Login, account choice and consent pages: the interactions the protocol layer hands off."""

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from clients.service import get_client
from idp import interaction
from idp.accounts import service
from idp.accounts import sessions
from idp.accounts.models import User
from idp.errors import UserFacingError
from idp.extensions import db
from idp.extensions import limiter

bp = Blueprint("accounts", __name__)

#: Plain-language descriptions of what each scope lets a service see.
SCOPE_TEXT = {
    "openid": lambda: _("Know who you are (a login identifier for this service)"),
    "profile": lambda: _("Your name"),
    "phone": lambda: _("Your mobile phone number"),
    "email": lambda: _("Your email address"),
    "offline_access": lambda: _("Keep you signed in to this service when you are away"),
}


def _load(uid):
    record = interaction.load(uid)
    if record is None:
        raise UserFacingError("invalid_request", _(
            "This login request has expired. Return to the service and start again."))
    client = get_client(record["client_id"])
    if client is None or not client.is_active:
        raise UserFacingError("invalid_client", _("This service is not available."))
    g.ui_locales = record["params"].get("ui_locales")
    return record, client


def _resume(record):
    return redirect(url_for("oauth.resume", uid=record["uid"]), code=303)


@bp.route("/interaction/<uid>")
def interaction_page(uid):
    record, client = _load(uid)
    if record["stage"] == "consent" and record.get("login"):
        return _consent_page(record, client)
    if record["stage"] == "select_account" and sessions.current():
        user = db.session.get(User, sessions.current()["user_id"])
        return _page("accounts/select_account.html", record, client, user=user)
    return _login_page(record, client)


def _page(template, record, client, status=200, **context):
    html = render_template(template, record=record, client=client, **context)
    return html, status, {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                          "Content-Security-Policy": "frame-ancestors 'none'"}


def _login_page(record, client, error=None, username=None, status=200):
    if username is None:
        username = record["params"].get("login_hint") or ""
    return _page("accounts/login.html", record, client, status=status, error=error,
                 username=username[:254])


def _consent_page(record, client):
    scopes = [s for s in record["params"].get("scope", "").split() if s in SCOPE_TEXT]
    descriptions = [SCOPE_TEXT[s]() for s in scopes]
    return _page("accounts/consent.html", record, client, descriptions=descriptions)


@bp.route("/interaction/<uid>/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def login(uid):
    record, client = _load(uid)
    username = request.form.get("username", "")
    user = service.authenticate(username, request.form.get("password", ""))
    if user is None:
        return _login_page(record, client, status=401, username=username, error=_(
            "The phone number or password is incorrect, or the account cannot log in now."))
    session = sessions.start(user, amr=["pwd"], acr=service.acr_for(user))
    record["login"] = {"user_id": user.id, "auth_time": session["auth_time"], "amr": ["pwd"],
                       "acr": session["acr"], "sid": session["sid"]}
    interaction.save(record)
    return _resume(record)


@bp.route("/interaction/<uid>/select", methods=["POST"])
def select_account(uid):
    record, client = _load(uid)
    if request.form.get("choice") == "continue" and sessions.current():
        record["selected"] = True
        interaction.save(record)
        return _resume(record)
    record["stage"] = "login"
    interaction.save(record)
    return redirect(url_for("accounts.interaction_page", uid=uid), code=303)


@bp.route("/interaction/<uid>/consent", methods=["POST"])
def consent(uid):
    record, client = _load(uid)
    login = record.get("login")
    session = sessions.current()
    if not login or session is None or session["sid"] != login["sid"]:
        # consent is given by the browser that logged in, nowhere else
        raise UserFacingError("invalid_request", _("Log in first."))
    decision = request.form.get("decision")
    if decision not in ("allow", "deny"):
        raise UserFacingError("invalid_request", _("Choose to allow or to deny."))
    if decision == "allow":
        service.remember_consent(login["user_id"], client.client_id,
                                 record["params"].get("scope", "").split())
    record["consent"] = decision
    interaction.save(record)
    return _resume(record)
