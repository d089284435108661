"""Login, account choice and consent pages: the interactions the protocol layer hands off."""

from urllib.parse import urlsplit

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
from idp.accounts import assurance
from idp.accounts import service
from idp.accounts import sessions
from idp.accounts.models import User
from idp.audit import service as audit
from idp.errors import UserFacingError
from idp.extensions import db
from idp.extensions import limiter
from mfa import base as mfa
from mfa.email import mask as email_mask
from mfa.sms import mask as sms_mask

bp = Blueprint("accounts", __name__)

#: Plain-language descriptions of what each scope lets a service see.
SCOPE_TEXT = {
    "openid": lambda: _("Know who you are (a login identifier for this service)"),
    "profile": lambda: _("Your name (with your date of birth and gender once your identity "
                         "is verified)"),
    "id_number": lambda: _("Your identity document type and number"),
    "admin": lambda: _("Administer this identity provider with your staff roles"),
    "phone": lambda: _("Your mobile phone number"),
    "email": lambda: _("Your email address"),
    "offline_access": lambda: _("Keep you signed in to this service when you are away"),
}


class AccountConsole:
    """Stands in for a relying party when the citizen logs in to their own account pages."""

    client_id = None
    require_mfa = False
    min_loa = 1

    @property
    def name(self):
        return _("your account")


def load_interaction(uid):
    record = interaction.load(uid)
    if record is None:
        raise UserFacingError("invalid_request", _(
            "This login request has expired. Return to the service and start again."))
    if record.get("return_to"):
        client = AccountConsole()
    else:
        client = get_client(record["client_id"])
        if client is None or not client.is_active:
            raise UserFacingError("invalid_client", _("This service is not available."))
    g.ui_locales = record["params"].get("ui_locales")
    return record, client


def login_for_account(return_to):
    """Send the browser through the login pages, then back to ``return_to`` (a path of ours)."""
    record = interaction.create({}, None, "login")
    record["return_to"] = return_to
    interaction.save(record)
    return redirect(url_for("accounts.interaction_page", uid=record["uid"]), code=303)


def resume(record):
    if record.get("return_to"):
        interaction.finish(record)
        return redirect(record["return_to"], code=303)
    return redirect(url_for("oauth.resume", uid=record["uid"]), code=303)


@bp.route("/interaction/<uid>")
def interaction_page(uid):
    record, client = load_interaction(uid)
    if record["stage"] == "consent" and record.get("login"):
        return _consent_page(record, client)
    if record["stage"] == "mfa" and record.get("pending"):
        user = db.session.get(User, record["pending"]["user_id"])
        return second_factor_page(record, client, user)
    if record["stage"] == "identity" and record.get("login"):
        return redirect(url_for("realname.page", uid=uid), code=303)
    if record["stage"] == "select_account" and sessions.current():
        user = db.session.get(User, sessions.current()["user_id"])
        return render_page("accounts/select_account.html", record, client, user=user)
    return _login_page(record, client)


#: Headers of the pages of a login: never cached or framed, and no ``form-action`` limit,
#: because their forms end in a redirect to the platform, whose scheme may be a native app's.
INTERACTION_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                       "Content-Security-Policy": "frame-ancestors 'none'"}


def render_page(template, record, client, status=200, **context):
    html = render_template(template, record=record, client=client, **context)
    return html, status, INTERACTION_HEADERS


def second_factor_page(record, client, user, error=None, status=200):
    kinds = [p.kind for p in mfa.factors_for(user)]
    if not kinds:
        return render_page("accounts/mfa_unavailable.html", record, client, status=status)
    return render_page("accounts/mfa.html", record, client, status=status, kinds=kinds,
                       error=error, masked_phone=sms_mask(user.phone),
                       masked_email=email_mask(user.email) if user.email else "")


def _login_page(record, client, error=None, username=None, status=200):
    if username is None:
        username = record["params"].get("login_hint") or ""
    return render_page("accounts/login.html", record, client, status=status, error=error,
                 username=username[:254])


def _consent_page(record, client):
    scopes = [s for s in record["params"].get("scope", "").split() if s in SCOPE_TEXT]
    descriptions = [SCOPE_TEXT[s]() for s in scopes]
    # Where the citizen returns: the one thing about the platform it has proved (its name
    # is its own choice). Hosts are stored in their ASCII form, so no look-alike letters.
    target = urlsplit(record["params"]["redirect_uri"])
    return render_page("accounts/consent.html", record, client, descriptions=descriptions,
                       destination=target.hostname or target.scheme)


#: How each failed password login is answered (status, message).
LOGIN_PROBLEMS = {
    "invalid": (401, lambda r: _(
        "The phone number or password is incorrect, or the account cannot log in now.")),
    "throttled": (429, lambda r: _(
        "Too many failed attempts. Wait %(seconds)s seconds and try again.",
        seconds=r.retry_after)),
    "locked": (403, lambda r: _(
        "This account is locked after repeated failed logins. Try again in %(minutes)s "
        "minutes, or ask the service desk to unlock it.",
        minutes=max(1, (r.retry_after + 59) // 60))),
    "disabled": (403, lambda r: _(
        "This account has been disabled. Contact the service desk.")),
}


@bp.route("/interaction/<uid>/login", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def login(uid):
    record, client = load_interaction(uid)
    username = request.form.get("username", "")
    result = service.authenticate(username, request.form.get("password", ""))
    if result.user is None:
        status, message = LOGIN_PROBLEMS[result.problem]
        return _login_page(record, client, status=status, username=username,
                           error=message(result))
    return after_first_factor(record, client, result.user, ["pwd"])


def after_first_factor(record, client, user, amr):
    """Ask for a second factor when one is needed, else complete the login."""
    level = assurance.required_level(client, (record["params"].get("acr_values") or "").split())
    if assurance.second_factor_needed(user, amr, require_mfa=client.require_mfa, level=level):
        record["pending"] = {"user_id": user.id, "amr": amr}
        record["stage"] = "mfa"
        interaction.save(record)
        return redirect(url_for("accounts.interaction_page", uid=record["uid"]), code=303)
    return finish_login(record, user, amr)


def finish_login(record, user, amr):
    """Establish (or strengthen, on a step-up) the browser's session and resume."""
    acr = assurance.acr_for(user, amr)
    pending = record.pop("pending", None) or {}
    session = sessions.current()
    if pending.get("step_up") and session and session["user_id"] == user.id:
        session = sessions.step_up(amr, acr)
    else:
        session = sessions.start(user, amr=amr, acr=acr)
    record["login"] = {"user_id": user.id, "auth_time": session["auth_time"], "amr": amr,
                       "acr": acr, "sid": session["sid"]}
    interaction.save(record)
    audit.record("login.success", user_id=user.id,
                 detail={"client_id": record["client_id"], "amr": amr, "acr": acr})
    return resume(record)


@bp.route("/interaction/<uid>/select", methods=["POST"])
def select_account(uid):
    record, client = load_interaction(uid)
    if request.form.get("choice") == "continue" and sessions.current():
        record["selected"] = True
        interaction.save(record)
        return resume(record)
    record["stage"] = "login"
    interaction.save(record)
    return redirect(url_for("accounts.interaction_page", uid=uid), code=303)


@bp.route("/interaction/<uid>/consent", methods=["POST"])
def consent(uid):
    record, client = load_interaction(uid)
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
    return resume(record)
