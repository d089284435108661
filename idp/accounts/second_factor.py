"""The second-factor step of a login (and of a step-up on an existing session).

The interaction holds ``pending`` = {user_id, amr[, step_up]} once the first factor (or the
SSO session) is established; a factor that verifies completes the login through
``views.finish_login``. Wrong codes count against the interaction: after ``MAX_TRIES`` it
ends and the citizen starts again from the platform.
"""

from urllib.parse import urlsplit

from flask import current_app
from flask import jsonify
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from idp import interaction
from idp.accounts import assurance
from idp.accounts.models import User
from idp.accounts.views import bp
from idp.accounts.views import finish_login
from idp.accounts.views import load_interaction
from idp.accounts.views import render_page
from idp.accounts.views import second_factor_page
from idp.audit import service as audit
from idp.errors import UserFacingError
from idp.extensions import db
from idp.extensions import limiter
from mfa import base as mfa
from mfa import email
from mfa import recovery
from mfa import sms
from mfa import totp
from mfa import webauthn
from mfa.codes import RateLimited

MAX_TRIES = 5
MESSAGE_PURPOSE = "login-mfa"


def _pending(uid):
    record, client = load_interaction(uid)
    pending = record.get("pending")
    user = db.session.get(User, pending["user_id"]) if pending else None
    if user is None or not user.is_active:
        raise UserFacingError("invalid_request", _(
            "This login request has expired. Return to the service and start again."))
    return record, client, user


def relying_party():
    """(rp_id, origin) for WebAuthn: the issuer's host and origin."""
    issuer = urlsplit(current_app.config["ISSUER"])
    return issuer.hostname, f"{issuer.scheme}://{issuer.netloc}"


def _failed(record, client, user, kind):
    record["mfa_tries"] = record.get("mfa_tries", 0) + 1
    audit.record("mfa.failure", "failure", user_id=user.id, detail={"factor": kind})
    if record["mfa_tries"] >= MAX_TRIES:
        interaction.finish(record)
        raise UserFacingError("access_denied", _(
            "Too many wrong codes. Return to the service and log in again."), 403)
    interaction.save(record)
    return second_factor_page(record, client, user, status=401, error=_(
        "The code is not correct or has already been used."))


def _succeeded(record, user, plugin, factor=None):
    audit.record("mfa.success", user_id=user.id, detail={"factor": plugin.kind})
    amr = assurance.combine(record["pending"]["amr"], plugin.amr(factor))
    return finish_login(record, user, amr)


#: Second factors whose code travels in a message: the module that sends and checks codes,
#: the citizen's address, and what to say when the message cannot go out.
MESSAGE_FACTORS = {
    "sms": (sms, lambda user: user.phone, sms.SmsDeliveryError, lambda: _(
        "We could not send the text message just now. Try again in a few minutes.")),
    "email": (email, lambda user: user.email, email.EmailDeliveryError, lambda: _(
        "We could not send the email just now. Try again in a few minutes.")),
}


@bp.route("/interaction/<uid>/mfa/<any(sms, email):kind>/send", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def message_code_send(uid, kind):
    record, client, user = _pending(uid)
    channel, address, delivery_error, undelivered = MESSAGE_FACTORS[kind]
    if not mfa.plugin(kind).available_for(user):
        return second_factor_page(record, client, user, status=400)
    try:
        channel.send_code(address(user), MESSAGE_PURPOSE, str(get_locale()))
    except RateLimited as exc:
        return second_factor_page(record, client, user, status=429, error=_(
            "A code was sent a moment ago. Wait %(seconds)s seconds before asking for "
            "another one.", seconds=exc.retry_after))
    except delivery_error:
        return second_factor_page(record, client, user, status=503, error=undelivered())
    record[f"{kind}_sent"] = True
    interaction.save(record)
    return second_factor_page(record, client, user)


@bp.route("/interaction/<uid>/mfa/<any(sms, email):kind>", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def message_code_step(uid, kind):
    record, client, user = _pending(uid)
    channel, address, _error, _undelivered = MESSAGE_FACTORS[kind]
    if not mfa.plugin(kind).available_for(user) or not channel.verify_code(
            address(user), MESSAGE_PURPOSE, request.form.get("code", "")):
        return _failed(record, client, user, kind)
    return _succeeded(record, user, mfa.plugin(kind))


@bp.route("/interaction/<uid>/mfa/totp", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def totp_step(uid):
    record, client, user = _pending(uid)
    factor = totp.verify(user, request.form.get("code", ""))
    if factor is None:
        return _failed(record, client, user, "totp")
    return _succeeded(record, user, mfa.plugin("totp"), factor)


@bp.route("/interaction/<uid>/mfa/recovery", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def recovery_step(uid):
    record, client, user = _pending(uid)
    if not recovery.use(user, request.form.get("code", "")):
        return _failed(record, client, user, "recovery")
    resume = _succeeded(record, user, mfa.plugin("recovery"))
    # a recovery code stands in for a lost or missing factor: say so before going on
    return render_page("accounts/recovery_used.html", record, client,
                       remaining=recovery.remaining(user), resume=resume.headers["Location"])


@bp.route("/interaction/<uid>/mfa/webauthn/options", methods=["POST"])
def webauthn_options(uid):
    record, _client, user = _pending(uid)
    rp_id, _origin = relying_party()
    options, state_id = webauthn.authentication_options(rp_id, user)
    record["webauthn_state"] = state_id
    interaction.save(record)
    return current_app.response_class(options, mimetype="application/json",
                                      headers={"Cache-Control": "no-store"})


@bp.route("/interaction/<uid>/mfa/webauthn", methods=["POST"])
def webauthn_step(uid):
    record, client, user = _pending(uid)
    rp_id, origin = relying_party()
    try:
        user_id, factor = webauthn.finish_authentication(
            record.pop("webauthn_state", ""), request.get_data(as_text=True), origin, rp_id)
    except webauthn.WebAuthnError as exc:
        record["mfa_tries"] = record.get("mfa_tries", 0) + 1
        interaction.save(record)
        audit.record("mfa.failure", "failure", user_id=user.id,
                     detail={"factor": "webauthn", "reason": exc.code})
        return jsonify(error=exc.code, message=_(
            "The security key or passkey was not accepted.")), 400
    if user_id != user.id:
        return jsonify(error="unknown_credential", message=_(
            "The security key or passkey was not accepted.")), 400
    response = _succeeded(record, user, mfa.plugin("webauthn"), factor)
    return jsonify(redirect=response.headers["Location"])


@bp.route("/interaction/<uid>/mfa/cancel", methods=["POST"])
def cancel(uid):
    """The citizen cannot (or will not) add a factor: the platform hears
    ``unmet_authentication_requirements``."""
    record, _client, _user = _pending(uid)
    record["unmet"] = True
    interaction.save(record)
    return redirect(url_for("oauth.resume", uid=uid), code=303)
