"""Logging in through a regional identity provider, as a step of the login journey.

``POST /interaction/<uid>/upstream`` (the login page's ``<button name="upstream"
value="SLUG">``) sends the browser to the provider; it comes back to
``/upstream/<slug>/callback``, where the answer is verified (``idp.federation.client``).
Someone already linked is logged in at once; at a first login the ``federated`` step asks
(``POST /interaction/<uid>/federated``, ``<button name="federated" value="create">`` or
``value="link"``) whether to create a national account or to link the one they have, after
logging in to it with its password and second factor.

When a session that such a login started ends in this browser, the browser passes through the
provider's ``end_session_endpoint`` (RP-initiated logout, with its ID token as the hint) on the
way to wherever the logout was going; the provider sends it back to the same callback.
"""

import base64
import dataclasses
import hashlib
import logging
import re

from authlib.common.security import generate_token
from cryptography.exceptions import InvalidTag
from flask import Blueprint
from flask import current_app
from flask import has_request_context
from flask import redirect
from flask import request
from flask import session as cookie_session
from flask_babel import gettext as _

from idp.accounts.assurance import FEDERATED as FED_AMR
from idp.accounts.models import User
from idp.accounts.self_service import bp as account_bp
from idp.accounts.self_service import done
from idp.accounts.self_service import signed_in
from idp.accounts.service import AccountError
from idp.accounts.service import normalise_phone
from idp.accounts.signals import session_ended
from idp.audit import service as audit
from idp.crypto import open_sealed
from idp.crypto import seal
from idp.errors import UserFacingError
from idp.extensions import db
from idp.extensions import limiter
from idp.federation import client
from idp.federation import service
from idp.federation.models import Upstream
from idp.interaction import record as records
from idp.interaction.journey import Journey
from idp.interaction.journey import this_browser
from idp.interaction.record import Federated
from idp.interaction.steps import FEDERATED
from idp.interaction.steps import PASSWORD
from idp.logout.browser import current as logout_plan
from idp.store import store
from mfa import sms
from mfa.codes import DeliveryError
from mfa.codes import RateLimited

log = logging.getLogger(__name__)

bp = Blueprint("federation", __name__)

#: What codes confirming a new account's number are bound to.
CODE_PURPOSE = "upstream-account"
#: Logins at regional providers one browser may have under way at once (tabs).
STATES_KEPT = 5


def init_app(app):
    session_ended.connect(_on_session_ended, sender=app)


@bp.app_template_global()
def upstreams_offered():
    """The regional providers the login page offers."""
    return service.offered()


@bp.app_template_global()
def upstream_name(slug):
    upstream = Upstream.query.filter_by(slug=slug).first()
    return upstream.name if upstream else slug


# --- Starting a login there ---------------------------------------------------------------

def _digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def _login_page(journey, status, message):
    return PASSWORD.page(journey, status=status, error=message)


def _unavailable(journey):
    return _login_page(journey, 400, _(
        "This regional identity provider is not available. Log in another way."))


def _failed(journey, upstream, failure):
    """Audit a login there that gave no verified answer, and say so on the login page."""
    audit.record("upstream.login", "error" if failure.reason == "unreachable" else "failure",
                 target=f"upstream:{upstream.slug}",
                 detail={"upstream": upstream.slug, "reason": failure.reason,
                         "detail": failure.detail})
    log.warning("login at upstream %s failed: %s", upstream.slug, failure)
    if failure.reason == "unreachable":
        return _login_page(journey, 503, _(
            "%(name)s cannot be reached just now. Log in another way, or try again in a few "
            "minutes.", name=upstream.name))
    if failure.reason == "refused":
        return _login_page(journey, 200, _(
            "The login at %(name)s was cancelled or refused. Log in again, or another way.",
            name=upstream.name))
    return _login_page(journey, 400, _(
        "The answer from %(name)s could not be verified, so it was not accepted. Log in "
        "again, or another way.", name=upstream.name))


@bp.route("/interaction/<uid>/upstream", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def start(uid):
    journey = Journey.load(uid)
    upstream = Upstream.query.filter_by(slug=request.form.get("upstream", "")[:40],
                                        enabled=True).first()
    if upstream is None:
        return _unavailable(journey)
    needs = journey.needs
    try:
        url, state = client.begin(upstream, journey.uid,
                                  prompt="login" if "login" in needs.prompts else None,
                                  max_age=needs.max_age, ui_locales=needs.ui_locales)
    except client.UpstreamFailure as exc:
        return _failed(journey, upstream, exc)
    cookie_session["upstream_states"] = [
        *cookie_session.get("upstream_states", [])[-(STATES_KEPT - 1):], _digest(state)]
    return redirect(url, code=303)


# --- Its answer -----------------------------------------------------------------------------

def _not_started_here():
    return UserFacingError("invalid_request", _(
        "This answer from a regional identity provider does not belong to a login started in "
        "this browser, or it was already used or has expired. Return to the service and start "
        "again."))


def _taken_by_this_browser(state):
    """Whether ``state`` is one this browser was given (it is then spent)."""
    kept = cookie_session.get("upstream_states", [])
    if not isinstance(state, str) or _digest(state) not in kept:
        return False
    cookie_session["upstream_states"] = [d for d in kept if d != _digest(state)]
    return True


@bp.route("/upstream/<slug>/callback")
def callback(slug):
    """A login's answer (``code`` or ``error``), or the return from a logout there."""
    args = request.args
    state = args.get("state")
    if "code" not in args and "error" not in args:
        return _logged_out_there(state)
    upstream = Upstream.query.filter_by(slug=slug[:40]).first()
    started = client.take_state(state) if _taken_by_this_browser(state) else None
    if upstream is None or started is None:
        audit.record("upstream.login", "failure", target=f"upstream:{slug[:32]}",
                     detail={"upstream": slug[:32], "reason": "state"})
        raise _not_started_here()
    journey = Journey.load(started["uid"])
    if started["slug"] != upstream.slug:  # an answer for another provider: a mix-up
        return _failed(journey, upstream, client.UpstreamFailure(
            "mixup", f"the login was started at {started['slug']}"))
    if not upstream.enabled:
        return _unavailable(journey)
    try:
        answer = client.finish(upstream, started, args)
    except client.UpstreamFailure as exc:
        return _failed(journey, upstream, exc)
    return _logged_in_there(journey, upstream, answer)


def _logged_in_there(journey, upstream, answer):
    record = journey.record
    user = service.linked_user(upstream, answer.subject)
    vouched = answer.vouched if user is None else service.vouched_for(user, answer.vouched,
                                                                        answer.claims)
    sealed = seal(answer.id_token.encode(), "upstream-id-token:" + upstream.slug)
    federated = Federated(upstream=upstream.slug, subject=answer.subject, vouched=vouched,
                          id_token=base64.b64encode(sealed).decode(), claims=answer.claims,
                          browser=this_browser())
    record.pending, record.factor_state = None, {}
    records.reset_tries(record)
    audit.record("upstream.login", user_id=user.id if user else None,
                 target=f"upstream:{upstream.slug}",
                 detail={"upstream": upstream.slug, "acr": answer.acr, "vouched": vouched,
                         "linked": user is not None}
                 | ({"not_counted": "name"} if vouched < answer.vouched else {}))
    if user is None:  # a first login: the federated step asks what to do
        record.federated = federated
        return journey.advance()
    if not user.is_active:
        audit.record("login.failure", "failure", user_id=user.id,
                     detail={"reason": user.status, "upstream": upstream.slug})
        return _login_page(journey, 403, _(
            "This account cannot log in now. Try again later, or contact the service desk."))
    record.federated = dataclasses.replace(federated, user_id=user.id)
    service.noted_login(upstream, answer.subject)
    return journey.first_factor(user, [FED_AMR], vouched)


# --- A first login: create an account, or link one ----------------------------------------

@bp.route("/interaction/<uid>/federated", methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
def first_login(uid):
    journey = Journey.load(uid)
    federated = journey.federated()
    if federated is None or federated.user_id is not None or federated.choice == "skip":
        return journey.advance()  # nothing left to choose (a reload, the back button)
    upstream = Upstream.query.filter_by(slug=federated.upstream, enabled=True).first()
    if upstream is None:  # disabled meanwhile: the citizen logs in another way
        journey.record.federated = None
        records.save(journey.record)
        return _unavailable(journey)
    choice = request.form.get("federated")
    if choice == "link":
        return _link(journey, upstream, federated)
    if choice == "skip" and federated.choice == "link" and journey.login() is not None:
        journey.record.federated = dataclasses.replace(federated, choice="skip")
        return journey.advance()
    if choice == "create" and federated.choice != "link":
        return _create(journey, upstream, federated)
    return FEDERATED.page(journey, status=400, error=_(
        "Choose to create an account or to link the one you have."))


def _link(journey, upstream, federated):
    """First ``link``: log in to the account (password and second factor, as any login);
    then ``link`` again: the link is made."""
    record = journey.record
    if federated.choice != "link":
        record.federated = dataclasses.replace(federated, choice="link")
        record.account_choice = "other"  # prove control now, whatever session there is
        return journey.advance()
    login = journey.login()
    user = db.session.get(User, login.user_id) if login else None
    if user is None or not user.is_active:
        return journey.advance()
    if service.link(upstream, federated.subject, user) is None:
        return FEDERATED.page(journey, status=409, error=_(
            "Your account is already linked to someone else at %(name)s, or this %(name)s "
            "account to another national account. Unlink the other first on the account "
            "page.", name=upstream.name))
    record.federated = dataclasses.replace(federated, user_id=user.id)
    return journey.advance()


def _vouched_phone(federated):
    """The mobile number the provider vouched for, in our form, or None."""
    claims = federated.claims
    if not claims.get("phone_number_verified"):
        return None
    try:
        return normalise_phone(claims.get("phone_number"))
    except AccountError:
        return None


def _create(journey, upstream, federated):
    """A new account, with the number the provider vouched for or one confirmed here by a
    text-message code."""
    record, form = journey.record, request.form
    phone = _vouched_phone(federated)
    if phone is None and federated.phone and "code" in form:
        if not re.fullmatch(r"\d{6}", form.get("code", "").strip()):
            return FEDERATED.page(journey, status=400, error=_(
                "Enter the 6-digit code from the text message."))
        if not sms.CODES.verify(federated.phone, CODE_PURPOSE, form["code"].strip()):
            return FEDERATED.page(journey, status=400, error=_(
                "The code is wrong or has expired. Check it, or ask for a new code."))
        phone = federated.phone
    if phone is None:
        return _confirm_phone(journey, federated)
    user = service.create_account(upstream, federated.subject, phone,
                                  federated.claims.get("name"))
    if user is None:
        record.federated = dataclasses.replace(federated, choice=None, phone=None)
        return FEDERATED.page(journey, status=409, error=_(
            "An account with this mobile number already exists. Choose to link it: you log "
            "in to it once, and then %(name)s is enough.", name=upstream.name))
    record.federated = dataclasses.replace(federated, user_id=user.id, choice="create",
                                           phone=None)
    return journey.first_factor(user, [FED_AMR], federated.vouched)


def _confirm_phone(journey, federated):
    """Ask for a number, or send a code to the one typed."""
    record = journey.record
    record.federated = federated = dataclasses.replace(federated, choice="create")
    if "phone" not in request.form:
        records.save(record)
        return FEDERATED.page(journey)
    try:
        phone = normalise_phone(request.form.get("phone", ""))
    except AccountError:
        records.save(record)
        return FEDERATED.page(journey, status=400, error=_("Enter a valid mobile phone number."))
    try:
        sms.send_code(phone, CODE_PURPOSE)
    except RateLimited as exc:
        records.save(record)
        return FEDERATED.page(journey, status=429, error=_(
            "A code was sent a moment ago. Wait %(seconds)s seconds before asking for "
            "another one.", seconds=exc.retry_after))
    except DeliveryError:
        records.save(record)
        return FEDERATED.page(journey, status=503, error=_(
            "We could not send the text message just now. Try again in a few minutes."))
    record.federated = dataclasses.replace(federated, phone=phone)
    records.save(record)
    return FEDERATED.page(journey)


# --- Logging out there too ------------------------------------------------------------------

def _on_session_ended(app, session=None, browser=False, **_kwargs):
    """A session ended in this browser and a login at a regional provider started it: the
    browser logs out there too, as a stop of its logout (``idp.logout.browser``); the provider
    sends it back to the callback, which goes on with the rest of the logout."""
    ended = (session or {}).get("upstream")
    if not (browser and has_request_context() and ended):
        return
    upstream = Upstream.query.filter_by(slug=ended["slug"]).first()
    if upstream is None:
        return
    try:
        id_token = open_sealed(base64.b64decode(ended["id_token"]),
                               "upstream-id-token:" + upstream.slug).decode()
    except (InvalidTag, ValueError):  # sealed under a key no longer configured
        log.warning("no logout at upstream %s: its ID token cannot be opened", upstream.slug)
        return
    state = generate_token(32)
    url = client.logout_url(upstream, id_token, state)
    if url is None:
        return
    plan = logout_plan()
    plan.add_stop(url)
    store().set("upstream-logout:" + _digest(state), plan.resume_url,
                current_app.config["INTERACTION_TTL"])


def _logged_out_there(state):
    """Back from a logout at a regional provider: on with the rest of the logout."""
    then = store().pop("upstream-logout:" + _digest(state)) if isinstance(state, str) else None
    if then is None:
        raise _not_started_here()
    return redirect(then, code=303)


# --- The account page: linked providers ---------------------------------------------------

@account_bp.app_template_global()
def upstream_links(user):
    """The citizen's links to regional providers, for the account page."""
    return service.links_of(user)


@account_bp.route("/upstreams/<int:link_id>/unlink", methods=["POST"])
@signed_in(fresh=True)
def upstream_unlink(user, session, link_id):
    try:
        removed = service.unlink(user, link_id)
    except service.OnlyWayIn:
        return done(_("This account has no password: it logs in only through this provider, "
                      "so the link stays."))
    if removed is None:
        return done(_("Nothing was changed."))
    return done(_("The regional identity provider was unlinked. Logging in there no longer "
                  "logs you in here."))
