"""The pages of a login journey (``idp.interaction``): thin adapters that load the journey,
complete its step with what the citizen posted, and let the journey say where to go next."""

from flask import Blueprint
from flask import current_app
from flask import request
from flask_babel import gettext as _

from idp.accounts import service
from idp.accounts import sessions
from idp.errors import UserFacingError
from idp.extensions import limiter
from idp.interaction.journey import Journey
from idp.interaction.steps import PASSWORD
from idp.interaction.steps import next_step
from idp.interaction.steps import page_of

bp = Blueprint("accounts", __name__)


@bp.route("/interaction/<uid>")
def interaction_page(uid):
    journey = Journey.load(uid)
    return page_of(journey)


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
    journey = Journey.load(uid)
    if next_step(journey) is not PASSWORD:
        # the password step is done: a password now would replace the login the journey
        # stands on (another browser's is refused by ``Journey.login``); go on instead
        return journey.advance()
    username = request.form.get("username", "")
    result = service.authenticate(username, request.form.get("password", ""))
    if result.user is None:
        status, message = LOGIN_PROBLEMS[result.problem]
        return PASSWORD.page(journey, status=status, username=username,
                             error=message(result))
    return journey.first_factor(result.user, ["pwd"])


@bp.route("/interaction/<uid>/select", methods=["POST"])
def select_account(uid):
    journey = Journey.load(uid)
    chose_this = request.form.get("choice") == "continue" and sessions.current()
    journey.record.account_choice = "continue" if chose_this else "other"
    return journey.advance()


@bp.route("/interaction/<uid>/consent", methods=["POST"])
def consent(uid):
    journey = Journey.load(uid)
    login = journey.record.login
    session = sessions.current()
    if not login or session is None or session["sid"] != login.sid:
        # consent is given by the browser that logged in, nowhere else
        raise UserFacingError("invalid_request", _("Log in first."))
    decision = request.form.get("decision")
    if decision not in ("allow", "deny"):
        raise UserFacingError("invalid_request", _("Choose to allow or to deny."))
    if decision == "allow":
        service.remember_consent(login.user_id, journey.record.client_id,
                                 list(journey.needs.scopes))
    journey.record.consent = decision
    return journey.advance()
