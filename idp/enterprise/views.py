"""Enterprise pages: the "act for" chooser of a login, and the self-service at
``/account/enterprises`` — what the person may do and for whom until when, invitations to
answer, registering an enterprise they represent (legal-person registry), and, for its legal
representative and administrators, an enterprise's members, appointments, authorisations of
agent firms given and received, and its history.

Every state-changing POST answers with a redirect (its outcome is a flashed message) and needs
a recent login, as credential changes do. What the service refuses is said in words
(``EnterpriseError``); nothing is changed then.
"""

from functools import wraps

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext as _

from idp.accounts import sessions
from idp.accounts.self_service import account_page
from idp.accounts.self_service import signed_in
from idp.accounts.service import AccountError
from idp.accounts.service import find_by_phone
from idp.admin.readable import _name_of_user
from idp.enterprise import choosing
from idp.enterprise import codes
from idp.enterprise import details
from idp.enterprise import labels
from idp.enterprise import service
from idp.enterprise.models import Appointment
from idp.enterprise.models import Authorisation
from idp.errors import UserFacingError
from idp.extensions import db
from idp.extensions import limiter
from idp.interaction.journey import Journey
from idp.interaction.steps import ACT_AS

bp = Blueprint("enterprise", __name__)

bp.add_app_template_global(labels.role_label, "enterprise_role_label")
bp.add_app_template_global(labels.status_label, "enterprise_status_label")


bp.add_app_template_global(codes.entity_type_label, "entity_type_label")
bp.add_app_template_filter(service.day_of, "day")
bp.add_app_template_filter(service.last_day_of, "last_day")


@bp.app_template_global()
def person_label(user):
    """A member as the pages show them: name and masked number."""
    return _name_of_user(user) if user is not None else _("an account since deleted")


@bp.app_template_global()
def matters_text(matters):
    """"All matters" or the list of matter codes."""
    return _("All matters") if matters is None else ", ".join(matters)


# --- The chooser (the login journey's act_as step) ------------------------------------------

@bp.route("/interaction/<uid>/act-as", methods=["POST"])
def act_as(uid):
    journey = Journey.load(uid)
    login = journey.record.login
    session = sessions.current()
    if (journey.record.step != ACT_AS.name or not login or session is None
            or session["sid"] != login.sid):
        raise UserFacingError("invalid_request", _("Log in first."))
    user = journey.user()
    offered = choosing.options(user, journey.needs)
    choice = request.form.get("act_as", "")
    if choice not in offered:
        return ACT_AS.page(journey, status=400, error=_(
            "Choose whom you act for: yourself or one of the enterprises shown."))
    choosing.decide(journey, user, choice, offered, "chosen")
    return journey.advance()


# --- Self-service -----------------------------------------------------------------------------

def _back(endpoint="enterprise.index", **values):
    return redirect(url_for(endpoint, **values), code=303)


def _refused(exc, endpoint="enterprise.index", **values):
    flash(_("Nothing was changed: %(reason)s", reason=exc.message))
    return _back(endpoint, **values)


def _managed(view):
    """View decorator (after ``signed_in``): the enterprise of ``credit_code`` and the person
    acting as its legal representative or administrator; anyone else gets 403."""

    @wraps(view)
    def wrapper(user, session, credit_code):
        enterprise = service.find(credit_code)
        actor = service.manager(user, enterprise) if enterprise is not None else None
        if actor is None:
            raise UserFacingError("access_denied", _(
                "Only the legal representative and the administrators of an operating "
                "enterprise manage it here."), 403)
        return view(user, enterprise, actor)

    return wrapper


@bp.route("/account/enterprises")
@signed_in()
def index(user, session):
    return account_page("enterprise/index.html", user=user,
                        authorities=service.authorities_of(user),
                        invitations=service.invitations_for(user),
                        appointments=service.appointments_for(user),
                        registry=bool(current_app.config.get("ENTERPRISE_REGISTRY_URL")))


@bp.route("/account/enterprises/register", methods=["POST"])
@limiter.limit("20 per hour")
@signed_in(fresh=True)
def register(user, session):
    try:
        enterprise = service.register_with_registry(user, request.form.get("credit_code", ""))
    except service.EnterpriseError as exc:
        return _refused(exc)
    flash(_("%(name)s is registered, with you as its legal representative.",
            name=enterprise.name))
    return _back("enterprise.manage", credit_code=enterprise.credit_code)


@bp.route("/account/enterprises/invitations/<int:appointment_id>", methods=["POST"])
@signed_in(fresh=True)
def answer(user, session, appointment_id):
    appointment = db.session.get(Appointment, appointment_id)
    accept = request.form.get("answer") == "accept"
    try:
        if appointment is None:
            raise service.EnterpriseError("closed")
        service.answer_invitation(appointment, user, accept)
    except service.EnterpriseError as exc:
        return _refused(exc)
    flash(_("You accepted the appointment.") if accept else _("You declined the appointment."))
    return _back()


@bp.route("/account/enterprises/appointments/<int:appointment_id>/end", methods=["POST"])
@signed_in(fresh=True)
def end_appointment(user, session, appointment_id):
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        return _refused(service.EnterpriseError("closed"))
    own = appointment.user_id == user.id
    actor = (service.Actor(f"user:{user.id}", appointment.role, user) if own
             else service.manager(user, appointment.enterprise))
    back = ("enterprise.index", {}) if own or actor is None else (
        "enterprise.manage", {"credit_code": appointment.enterprise.credit_code})
    try:
        if actor is None:
            raise service.EnterpriseError("not_allowed")
        service.end_appointment(appointment, actor=actor,
                                reason=request.form.get("reason", "")[:200])
    except service.EnterpriseError as exc:
        return _refused(exc, back[0], **back[1])
    flash(_("The appointment was ended."))
    return _back(back[0], **back[1])


@bp.route("/account/enterprises/<credit_code>")
@signed_in()
@_managed
def manage(user, enterprise, actor):
    return account_page("enterprise/manage.html", user=user, enterprise=enterprise,
                        actor=actor, appointments=service.appointments_of(enterprise),
                        given=service.authorisations_given(enterprise),
                        received=service.authorisations_received(enterprise),
                        history=service.history(enterprise))


def _period_of(form):
    """(starts_at or None, ends_at or None) from the form's ``starts`` and ``until`` dates."""
    starts = form.get("starts", "").strip()
    until = form.get("until", "").strip()
    return (service.day_start(starts) if starts else None,
            service.day_end(until) if until else None)


def _matters_of(form):
    try:
        return details.clean_matters(form.get("matters", "")[:5000])
    except ValueError as exc:
        raise service.EnterpriseError("matters", _("Matters: %(reason)s", reason=str(exc))) \
            from None


@bp.route("/account/enterprises/<credit_code>/appoint", methods=["POST"])
@signed_in(fresh=True)
@_managed
def appoint(user, enterprise, actor):
    role = request.form.get("role")
    try:
        try:
            person = find_by_phone(request.form.get("phone", ""))
        except AccountError:
            person = None
        if person is None:
            raise service.EnterpriseError("no_account")
        starts_at, ends_at = _period_of(request.form)
        matters = _matters_of(request.form) if role == service.HANDLER else None
        service.appoint(enterprise, person, role, actor=actor, matters=matters,
                        starts_at=starts_at, ends_at=ends_at)
    except service.EnterpriseError as exc:
        return _refused(exc, "enterprise.manage", credit_code=enterprise.credit_code)
    flash(_("The invitation was sent: it is in force once accepted."))
    return _back("enterprise.manage", credit_code=enterprise.credit_code)


@bp.route("/account/enterprises/<credit_code>/authorise", methods=["POST"])
@signed_in(fresh=True)
@_managed
def authorise(user, enterprise, actor):
    try:
        starts_at, ends_at = _period_of(request.form)
        service.authorise(enterprise, request.form.get("agent", ""), actor=actor,
                          matters=_matters_of(request.form), starts_at=starts_at,
                          ends_at=ends_at)
    except service.EnterpriseError as exc:
        return _refused(exc, "enterprise.manage", credit_code=enterprise.credit_code)
    flash(_("The agent firm is authorised."))
    return _back("enterprise.manage", credit_code=enterprise.credit_code)


@bp.route("/account/enterprises/authorisations/<int:authorisation_id>/end", methods=["POST"])
@signed_in(fresh=True)
def end_authorisation(user, session, authorisation_id):
    given = db.session.get(Authorisation, authorisation_id)
    try:
        if given is None:
            raise service.EnterpriseError("closed")
        service.end_authorisation(given, actor=service.Actor(f"user:{user.id}", None, user),
                                  reason=request.form.get("reason", "")[:200])
    except service.EnterpriseError as exc:
        return _refused(exc)
    flash(_("The authorisation was ended."))
    back = request.form.get("from")
    if back in (given.principal.credit_code, given.agent.credit_code):
        return _back("enterprise.manage", credit_code=back)
    return _back()
