"""``/account``: the citizen's own pages — profile, password, second factors, recovery codes,
sessions, connected platforms and recent security events.

Every page needs the browser's SSO session; changes to credentials also need a recent login
(``REAUTH_SECONDS``), otherwise the citizen logs in again first. Every change is audited.
"""

import time
from datetime import UTC
from datetime import datetime
from functools import wraps

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import get_flashed_messages
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from clients.service import get_client
from idp.accounts import service
from idp.accounts import sessions
from idp.accounts import shown_once
from idp.accounts.models import Consent
from idp.accounts.models import User
from idp.audit import service as audit
from idp.enterprise.labels import EVENT_LABELS as ENTERPRISE_EVENT_LABELS
from idp.extensions import db
from idp.ids import row_id
from idp.interaction.journey import login_for_account
from mfa import base as mfa
from mfa import recovery
from mfa import totp
from mfa import webauthn
from mfa.models import Factor

bp = Blueprint("account", __name__, url_prefix="/account")

#: Credential changes need a login at most this old (seconds).
REAUTH_SECONDS = 10 * 60


def _user():
    session = sessions.current()
    user = db.session.get(User, session["user_id"]) if session else None
    return session, (user if user is not None and user.is_active else None)


def signed_in(fresh=False):
    """View decorator: the citizen of this browser's session, else through the login pages;
    with ``fresh``, a login within ``REAUTH_SECONDS``."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            session, user = _user()
            back = request.path if request.method == "GET" else url_for("account.overview")
            if user is None:
                return login_for_account(back)
            if fresh and time.time() - session["auth_time"] > REAUTH_SECONDS:
                flash(_("For your security, log in again to make this change."))
                return login_for_account(back)
            return view(user, session, *args, **kwargs)
        return wrapper
    return decorate


EVENT_LABELS = {
    "login.success": lambda: _("Logged in"),
    "login.failure": lambda: _("Failed login"),
    "account.locked": lambda: _("Account locked"),
    "account.registered": lambda: _("Account created"),
    "mfa.success": lambda: _("Second factor used"),
    "mfa.failure": lambda: _("Second factor failed"),
    "mfa.factor.added": lambda: _("Second factor added"),
    "mfa.factor.removed": lambda: _("Second factor removed"),
    "mfa.factor.renamed": lambda: _("Second factor renamed"),
    "mfa.recovery_code.used": lambda: _("Recovery code used"),
    "password.changed": lambda: _("Password changed"),
    "password.change": lambda: _("Password change refused"),
    "profile.updated": lambda: _("Profile changed"),
    "session.ended": lambda: _("Signed out elsewhere"),
    "consent.revoked": lambda: _("Platform access withdrawn"),
    "logout": lambda: _("Logged out"),
    "identity.verify": lambda: _("Identity verification"),
    "counter.lookup": lambda: _("Your identity was looked up at a service counter"),
    "account.unlocked": lambda: _("Account unlocked"),
    "mfa.factors.reset": lambda: _("Second factors reset by the service desk"),
    "upstream.login": lambda: _("Logged in with a regional account"),
    "upstream.linked": lambda: _("Regional account linked"),
    "upstream.unlinked": lambda: _("Regional account unlinked"),
    **ENTERPRISE_EVENT_LABELS,
}


OUTCOME_LABELS = {"success": lambda: _("Succeeded"), "failure": lambda: _("Failed"),
                  "error": lambda: _("Not completed (service unavailable)")}


@bp.app_template_global()
def outcome_label(outcome):
    label = OUTCOME_LABELS.get(outcome)
    return label() if label else outcome


@bp.app_template_global()
def event_label(action):
    label = EVENT_LABELS.get(action)
    return label() if label else action


@bp.app_template_filter("datetime")
def _datetime(timestamp):
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), "short")


@bp.app_template_global()
def device_label(user_agent):
    """"Chrome 131 on Windows 10" from a User-Agent header, by ua-parser (the uap-core rules,
    updated monthly as ``ua-parser-builtins``)."""
    import ua_parser

    found = ua_parser.parse(user_agent or "")
    browser = found.user_agent and " ".join(
        part for part in (found.user_agent.family, found.user_agent.major) if part)
    system = found.os and " ".join(part for part in (found.os.family, found.os.major) if part)
    if found.device and found.device.family not in ("Other", "Spider") and system:
        system = f"{system} ({found.device.family})"
    if not browser:
        return _("Unknown browser")
    return _("%(browser)s on %(system)s", browser=browser, system=system or _("an unknown system"))


def account_page(template, status=200, **context):
    return render_template(template, messages=get_flashed_messages(), **context), status, {
        "Cache-Control": "no-store"}


def done(message):
    flash(message)
    return redirect(url_for("account.overview"), code=303)


@bp.route("")
@signed_in()
def overview(user, session):
    factors = Factor.query.filter_by(user_id=user.id, confirmed=True).order_by(Factor.id).all()
    platforms = []
    for consent in Consent.query.filter_by(user_id=user.id).order_by(Consent.granted_at.desc()):
        client = get_client(consent.client_id)
        platforms.append((consent, client.name if client else consent.client_id))
    return account_page("account/overview.html", user=user, factors=factors,
                 recovery_left=recovery.remaining(user),
                 sessions=sessions.list_for(user.id), platforms=platforms,
                 events=audit.events_of(user.id, limit=20))


@bp.route("/profile", methods=["POST"])
@signed_in()
def profile(user, session):
    name = " ".join(request.form.get("name", "").split())[:100] or None
    before = user.name
    user.name = name
    db.session.commit()
    audit.record("profile.updated", user_id=user.id, detail={"before": {"name": before},
                                                              "after": {"name": name}})
    return done(_("Your profile was saved."))


@bp.route("/password", methods=["GET", "POST"])
@signed_in(fresh=True)
def password(user, session):
    if request.method == "GET":
        return account_page("account/password.html", user=user)
    error = service.change_password(user, request.form.get("current", ""),
                                    request.form.get("new", ""),
                                    request.form.get("confirm", ""), keep_sid=session["sid"])
    if error:
        return account_page("account/password.html", status=400, user=user, error=error)
    return done(_("Your password was changed. Other devices were signed out."))


@bp.route("/totp", methods=["GET", "POST"])
@signed_in(fresh=True)
def totp_enrol(user, session):
    if request.method == "GET":
        factor, _uri, qr_svg, secret_text = totp.begin_enrolment(
            user, request.args.get("name") or _("Authenticator app"))
        return account_page("account/totp.html", factor=factor, qr_svg=qr_svg,
                     secret_text=secret_text)
    factor_id = row_id(request.form.get("factor_id"))
    factor = db.session.get(Factor, factor_id) if factor_id else None
    if factor is None or factor.user_id != user.id or factor.kind != "totp" or factor.confirmed:
        return done(_("That enrolment has expired. Start again."))
    if not totp.confirm(factor, request.form.get("code", "")):
        return account_page("account/totp.html", status=400, factor=factor, qr_svg=None,
                     secret_text=None, error=_(
                         "The code is not correct. Check the time on your phone and try the "
                         "next code."))
    audit.record("mfa.factor.added", user_id=user.id, detail={"kind": "totp",
                                                               "factor_id": factor.id})
    return done(_("Your authenticator app is set up."))


@bp.route("/passkeys/options", methods=["POST"])
@signed_in(fresh=True)
def passkey_options(user, session):
    rp_id, _origin = webauthn.relying_party()
    options, state_id = webauthn.registration_options(user, rp_id, _("Unified Identity "
                                                                      "Authentication"))
    return current_app.response_class(options, mimetype="application/json", headers={
        "Cache-Control": "no-store", "X-State": state_id})


@bp.route("/passkeys", methods=["POST"])
@signed_in(fresh=True)
def passkey_add(user, session):
    rp_id, origin = webauthn.relying_party()
    try:
        factor = webauthn.finish_registration(
            user, request.headers.get("X-State", ""), request.get_data(as_text=True), origin,
            request.args.get("name") or _("Passkey"))
    except webauthn.WebAuthnError as exc:
        audit.record("mfa.factor.add", "failure", user_id=user.id,
                     detail={"kind": "webauthn", "reason": exc.code})
        return jsonify(error=exc.code, message=_("The passkey could not be added.")), 400
    audit.record("mfa.factor.added", user_id=user.id, detail={"kind": "webauthn",
                                                               "factor_id": factor.id})
    flash(_("Your passkey was added."))
    return jsonify(redirect=url_for("account.overview"))


def _own_factor(user, factor_id):
    factor = db.session.get(Factor, factor_id)
    return factor if factor is not None and factor.user_id == user.id else None


@bp.route("/factors/<int:factor_id>/rename", methods=["POST"])
@signed_in()
def factor_rename(user, session, factor_id):
    factor = _own_factor(user, factor_id)
    name = " ".join(request.form.get("name", "").split())[:64]
    if factor is None or not name:
        return done(_("Nothing was changed."))
    factor.name = name
    db.session.commit()
    audit.record("mfa.factor.renamed", user_id=user.id, detail={"factor_id": factor.id})
    return done(_("The name was saved."))


@bp.route("/factors/<int:factor_id>/delete", methods=["POST"])
@signed_in(fresh=True)
def factor_delete(user, session, factor_id):
    factor = _own_factor(user, factor_id)
    if factor is None:
        return done(_("Nothing was changed."))
    if mfa.count_strong_factors(user) == 1 and request.form.get("confirm") != "yes":
        return account_page("account/confirm_delete.html", factor=factor)
    mfa.remove(factor)
    audit.record("mfa.factor.removed", user_id=user.id, detail={"kind": factor.kind,
                                                                 "factor_id": factor_id})
    return done(_("The factor was removed."))


@bp.route("/recovery-codes", methods=["POST"])
@signed_in(fresh=True)
def recovery_codes(user, session):
    view_id = shown_once.keep("recovery-codes", recovery.generate(user))
    return redirect(url_for("account.recovery_codes_shown", view_id=view_id), code=303)


@bp.route("/recovery-codes/<view_id>")
@signed_in()
def recovery_codes_shown(user, session, view_id):
    """The new codes, once: a reload says they were shown (and makes no new ones)."""
    found = shown_once.take(view_id, "recovery-codes")
    return account_page("account/recovery_codes.html", status=200 if found else 410,
                        codes=found["secret"] if found else None)


@bp.route("/sessions/<sid>/end", methods=["POST"])
@signed_in()
def session_end(user, session, sid):
    ended = sessions.end_for(user.id, sid=sid)
    audit.record("session.ended", user_id=user.id, detail={"count": ended})
    if sid == session["sid"]:
        sessions.end()
        return redirect(sessions.after_logout(url_for("account.overview")), code=303)
    return done(_("The session was signed out."))


@bp.route("/sessions/end-others", methods=["POST"])
@signed_in()
def sessions_end_others(user, session):
    ended = sessions.end_for(user.id, keep_sid=session["sid"])
    audit.record("session.ended", user_id=user.id, detail={"count": ended, "others": True})
    return done(_("Your other sessions were signed out."))


@bp.route("/platforms/<client_id>/revoke", methods=["POST"])
@signed_in()
def platform_revoke(user, session, client_id):
    if not service.withdraw_consent(user, client_id):
        return done(_("Nothing was changed."))
    return done(_("The platform's access was withdrawn."))


@bp.route("/logout", methods=["POST"])
def logout():
    session, user = _user()
    sessions.end()
    if user is not None:
        audit.record("logout", user_id=user.id)
    return redirect(sessions.after_logout(url_for("account.logged_out")), code=303)


@bp.route("/logged-out")
def logged_out():
    return render_template("logout/logged_out.html")
