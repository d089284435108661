"""Enterprises and who may act for them: creating and verifying enterprises, appointments,
third-party authorisations, and the authority a person has to act for an enterprise.

Who may do what (every change is audited with the actor and the role they acted in, target
``enterprise:<credit code>``):

* the legal representative appoints and removes administrators (at most
  ``ENTERPRISE_MAX_ADMINISTRATORS``) and handlers, and authorises agent firms;
* an administrator appoints and removes handlers and authorises agent firms;
* an appointee accepts or declines an invitation and may end their own appointment;
* either enterprise of a third-party authorisation may end it;
* an operator (``idp enterprises``) or staff (console, admin API) creates enterprises, appoints
  people in force at once and changes an enterprise's status.

Removing an administrator ends the appointments and authorisations they made. (An
administrator whose period simply runs out has not been removed: what they granted stands.)
A cancelled or revoked enterprise acts for nobody, and nothing is changed for it but its
status.

Authority (``authorities_of``): the legal representative and the administrators act for all
matters; a handler for theirs, within their period; a person with authority at an agent firm
acts for the firm's principals within both their own matters and the authorisation's, until
the earlier end. ``still_holds`` checks a stored authority again in one query: tokens call it
at every use.
"""

import time
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time as clock
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased

from idp.accounts.models import User
from idp.audit import service as audit
from idp.enterprise import codes
from idp.enterprise import details
from idp.enterprise import registry
from idp.enterprise.models import ENTERPRISE_STATES
from idp.enterprise.models import OPERATING
from idp.enterprise.models import Appointment
from idp.enterprise.models import Authorisation
from idp.enterprise.models import Enterprise
from idp.errors import Refusal
from idp.extensions import db
from idp.realname import service as realname
from idp.realname import verifiers

REPRESENTATIVE, ADMINISTRATOR, HANDLER, AGENT = (
    "legal_representative", "administrator", "handler", "agent")
OPERATOR = "operator"
#: The order choices are offered in, and which authority counts when a person has several.
RANK = {REPRESENTATIVE: 0, ADMINISTRATOR: 1, HANDLER: 2, AGENT: 3}


class EnterpriseError(Refusal):
    """A change that was refused; ``code`` for programs, ``message`` for people."""

    MESSAGES = {
        "not_found": lambda: _("No enterprise with this credit code is registered here."),
        "exists": lambda: _("An enterprise with this credit code is already registered."),
        "invalid_name": lambda: _("Enter the enterprise's name (at most 200 characters)."),
        "entity_type": lambda: _("This is not a known entity type."),
        "no_account": lambda: _("No account has this mobile number."),
        "not_operating": lambda: _(
            "This enterprise is cancelled or revoked: nobody acts for it and nothing can be "
            "changed for it."),
        "not_allowed": lambda: _("You may not do this for this enterprise."),
        "too_many_administrators": lambda: _(
            "An enterprise has at most %(count)d administrators.",
            count=current_app.config["ENTERPRISE_MAX_ADMINISTRATORS"]),
        "already_appointed": lambda: _(
            "This person already has this role here, or an invitation to it."),
        "representative": lambda: _(
            "The legal representative already acts for the enterprise in every matter."),
        "administrator_matters": lambda: _(
            "Administrators act for every matter: appoint a handler for some matters."),
        "period": lambda: _("The end must come after the start, and not be past."),
        "date": lambda: _("Write dates as YYYY-MM-DD, in the years 2000 to 2999."),
        "needs_level_2": lambda: _(
            "Verify your identity with the registry (level 2) first: only a verified legal "
            "representative can register an enterprise."),
        "registry_mismatch": lambda: _(
            "The registry does not list you as the legal representative of this enterprise."),
        "registry_unavailable": lambda: _(
            "The registry is unavailable. Nothing was changed; try again later."),
        "registry_not_configured": lambda: _(
            "Registering enterprises online is not offered here; ask the service desk."),
        "registry_not_operating": lambda: _(
            "The registry lists this enterprise as cancelled or revoked: it cannot be "
            "registered."),
        "agent": lambda: _(
            "The agent must be another operating enterprise registered here."),
        "end_required": lambda: _("An authorisation of an agent needs an end date."),
        "closed": lambda: _("This has already ended or been answered."),
        "status": lambda: _("Choose operating, cancelled or revoked."),
    }

    def __str__(self):
        return self.message


def _now():
    return int(time.time())


def target(enterprise) -> str:
    return f"enterprise:{enterprise.credit_code}"


# --- Reading ------------------------------------------------------------------------------

def parse_code(raw) -> str:
    """A credit code normalised, or ``EnterpriseError("invalid_code")`` with the precise
    reason (``idp.enterprise.codes``)."""
    try:
        return codes.parse(raw).code
    except codes.CreditCodeError as exc:
        raise EnterpriseError("invalid_code", exc.message) from None


def find(raw) -> Enterprise | None:
    try:
        code = codes.parse(raw).code
    except codes.CreditCodeError:
        return None
    return Enterprise.query.filter_by(credit_code=code).first()


def get(raw) -> Enterprise:
    enterprise = find(raw)
    if enterprise is None:
        raise EnterpriseError("not_found")
    return enterprise


def search(query=None, status=None, page=1, per_page=25):
    """(enterprises, total) whose credit code starts with ``query`` or whose name contains
    it, newest first."""
    stmt = select(Enterprise)
    if query:
        stmt = stmt.where(or_(Enterprise.credit_code.startswith(query.upper(), autoescape=True),
                              Enterprise.name.contains(query, autoescape=True)))
    if status:
        stmt = stmt.where(Enterprise.status == status)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(stmt.order_by(Enterprise.id.desc()).limit(per_page)
                              .offset((page - 1) * per_page)).scalars().all()
    return rows, total


def appointments_of(enterprise):
    """Every appointment of the enterprise, those in force or open first."""
    order = {"active": 0, "invited": 1, "ended": 2, "declined": 3}
    rows = Appointment.query.filter_by(enterprise_id=enterprise.id).all()
    return sorted(rows, key=lambda a: (order[a.status], RANK[a.role], a.id))


def authorisations_given(enterprise):
    return (Authorisation.query.filter_by(principal_id=enterprise.id)
            .order_by(Authorisation.status, Authorisation.id.desc()).all())


def authorisations_received(enterprise):
    return (Authorisation.query.filter_by(agent_id=enterprise.id)
            .order_by(Authorisation.status, Authorisation.id.desc()).all())


def invitations_for(user):
    return (Appointment.query.filter_by(user_id=user.id, status="invited")
            .order_by(Appointment.id).all())


def appointments_for(user):
    """The person's appointments that are active (in force or starting later)."""
    return (Appointment.query.filter_by(user_id=user.id, status="active")
            .order_by(Appointment.id).all())


def history(enterprise, limit=50):
    """The enterprise's audit events, newest first."""
    return audit.events({"target": target(enterprise)}, limit=limit, newest_first=True)["events"]


# --- Dates --------------------------------------------------------------------------------

def _zone():
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")


#: The years a date people give may fall in.
YEARS = range(2000, 3000)


def day_start(text) -> int:
    """The start of the day ``YYYY-MM-DD`` in the provider's time zone (China time)."""
    try:
        day = date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        raise EnterpriseError("date") from None
    if day.year not in YEARS or len(str(text).strip()) != 10:
        raise EnterpriseError("date")
    return int(datetime.combine(day, clock(), _zone()).timestamp())


def day_end(text) -> int:
    """The end of the day ``YYYY-MM-DD`` (the next day's start): "until 2027-06-30" includes
    the 30th."""
    start = datetime.fromtimestamp(day_start(text), _zone())
    return int(datetime.combine(start.date() + timedelta(days=1), clock(), _zone()).timestamp())


def day_of(epoch) -> str:
    """``YYYY-MM-DD`` of the moment ``epoch`` in the provider's time zone."""
    return datetime.fromtimestamp(epoch, _zone()).date().isoformat()


def last_day_of(ends_at) -> str:
    """The last day a period ending at ``ends_at`` (a day's end, ``day_end``) includes."""
    return day_of(ends_at - 1)


def _period(starts_at, ends_at, now):
    if ends_at is not None and (ends_at <= starts_at or ends_at <= now):
        raise EnterpriseError("period")


# --- Who changes something, as what -----------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who makes a change (``code``: ``user:<id>``, ``cli:<user>``) and as what (``role``):
    the legal representative, an administrator (``appointment``: theirs), the appointee
    themselves (``handler`` / ``administrator`` with ``user``), an operator or a staff role.
    ``in_person`` is False for operators and staff: their appointments are in force at once."""

    code: str
    role: str | None
    user: User | None = None
    appointment: Appointment | None = None
    in_person: bool = True

    @classmethod
    def operator(cls, code, role=OPERATOR):
        return cls(code, role, in_person=False)


def manager(user, enterprise, now=None) -> Actor | None:
    """The person acting as the enterprise's legal representative or one of its
    administrators in force, or None."""
    now = _now() if now is None else now
    if not enterprise.is_operating:
        return None
    if enterprise.legal_representative_id == user.id:
        return Actor(f"user:{user.id}", REPRESENTATIVE, user)
    for appointment in Appointment.query.filter_by(enterprise_id=enterprise.id, user_id=user.id,
                                                   role=ADMINISTRATOR, status="active"):
        if appointment.in_force(now):
            return Actor(f"user:{user.id}", ADMINISTRATOR, user, appointment)
    return None


def _audit(action, enterprise, actor, outcome="success", user_id=None, **detail):
    audit.record(action, outcome, user_id=user_id if user_id is not None else (
        actor.user.id if actor.user else None), actor=actor.code, role=actor.role,
        target=target(enterprise), detail=detail)


def _operating(enterprise):
    if not enterprise.is_operating:
        raise EnterpriseError("not_operating")


# --- Enterprises ----------------------------------------------------------------------------

def _clean_name(name):
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 200:
        raise EnterpriseError("invalid_name")
    return name


def declare(credit_code, name, representative, entity_type=None, *, actor: Actor):
    """An operator's declaration (no registry call; the representative's own level stays as
    it is): the enterprise, operating, with ``representative`` as its legal representative.
    ``entity_type`` defaults to what positions 1-2 of the code say."""
    code = parse_code(credit_code)
    name = _clean_name(name)
    entity_type = entity_type or codes.parse(code).entity_type
    if entity_type not in codes.ENTITY_TYPES:
        raise EnterpriseError("entity_type")
    if Enterprise.query.filter_by(credit_code=code).first() is not None:
        raise EnterpriseError("exists")
    enterprise = Enterprise(credit_code=code, name=name, entity_type=entity_type,
                            legal_representative_id=representative.id, verification="declared")
    db.session.add(enterprise)
    db.session.flush()
    _audit("enterprise.created", enterprise, actor, user_id=representative.id,
           after={"entity_type": entity_type, "status": OPERATING, "verification": "declared",
                  "legal_representative": f"user:{representative.id}"})
    return enterprise


def register_with_registry(user, credit_code):
    """A citizen verified at level 2 or more registers the enterprise they represent: the
    legal-person registry must list them (their sealed name and document) as its legal
    representative, and the enterprise as operating. An enterprise already here is brought up
    to the registry's facts and gets this person as its legal representative. Nothing is
    written unless the registry answered."""
    code = parse_code(credit_code)
    binding = realname.binding_of(user) if user.loa >= 2 else None
    if binding is None:
        raise EnterpriseError("needs_level_2")
    if not current_app.config.get("ENTERPRISE_REGISTRY_URL"):
        raise EnterpriseError("registry_not_configured")
    identity = realname.identity_of(binding)
    person = verifiers.PersonClaim(name=identity["name"], doc_type=binding.doc_type,
                                   number=identity["number"])
    enterprise = Enterprise.query.filter_by(credit_code=code).first()
    actor = Actor(f"user:{user.id}", REPRESENTATIVE, user)
    subject = enterprise or Enterprise(credit_code=code)
    try:
        answer = registry.legal_person_registry().verify(code, person)
    except verifiers.VerificationUnavailable as exc:
        current_app.logger.warning("legal-person registry unavailable: %s", exc)
        _audit("enterprise.verified", subject, actor, "error", reason="unavailable")
        raise EnterpriseError("registry_unavailable") from None
    if not answer.matched:
        _audit("enterprise.verified", subject, actor, "failure", reason=answer.outcome,
               reference=answer.reference)
        raise EnterpriseError("registry_mismatch")
    if answer.status != OPERATING:
        detail = {"reason": answer.status, "reference": answer.reference}
        if enterprise is not None and enterprise.status != answer.status:
            detail.update(before={"status": enterprise.status}, after={"status": answer.status})
            enterprise.status = answer.status  # the registry's word: it acts for nobody now
        _audit("enterprise.verified", subject, actor, "failure", **detail)
        raise EnterpriseError("registry_not_operating")
    if enterprise is None:
        enterprise = Enterprise(credit_code=code)
        db.session.add(enterprise)
    before = _facts(enterprise)
    enterprise.name, enterprise.entity_type = answer.name, answer.entity_type
    enterprise.status, enterprise.legal_representative_id = OPERATING, user.id
    enterprise.verification, enterprise.verified_at = "registry", _now()
    enterprise.reference = answer.reference
    db.session.flush()
    _audit("enterprise.verified", enterprise, actor, reference=answer.reference,
           before=before, after=_facts(enterprise))
    return enterprise


def _facts(enterprise):
    representative = enterprise.legal_representative_id
    return {"name": enterprise.name, "entity_type": enterprise.entity_type,
            "status": enterprise.status, "verification": enterprise.verification,
            "legal_representative": f"user:{representative}" if representative else None}


def set_status(enterprise, status, *, actor: Actor, reason=None):
    """An operator or staff records the registry's status: a cancelled or revoked enterprise
    acts for nobody from the next request on (its tokens stop, refreshes fail)."""
    if status not in ENTERPRISE_STATES:
        raise EnterpriseError("status")
    before = enterprise.status
    if before == status:
        return False
    enterprise.status = status
    enterprise.status_reason = (reason or "").strip()[:500] or None
    _audit("enterprise.status", enterprise, actor, before={"status": before},
           after={"status": status}, reason=enterprise.status_reason)
    return True


# --- Appointments ---------------------------------------------------------------------------

def _open_appointment(enterprise, person, role):
    return Appointment.query.filter(
        Appointment.enterprise_id == enterprise.id, Appointment.user_id == person.id,
        Appointment.role == role, Appointment.status.in_(("invited", "active")),
        or_(Appointment.ends_at.is_(None), Appointment.ends_at > _now())).first()


def appoint(enterprise, person, role, *, actor: Actor, matters=None, starts_at=None,
            ends_at=None):
    """Appoint ``person`` as an administrator (all matters) or a handler (``matters``; None:
    all) from ``starts_at`` (default now) until ``ends_at`` (None: until ended). In person
    (the representative, an administrator) it is an invitation the person accepts; an
    operator's or staff's is in force at once."""
    _operating(enterprise)
    now = _now()
    starts_at = now if starts_at is None else starts_at
    if role not in (ADMINISTRATOR, HANDLER):
        raise EnterpriseError("not_allowed")
    if actor.in_person and actor.role not in (REPRESENTATIVE, ADMINISTRATOR):
        raise EnterpriseError("not_allowed")
    if role == ADMINISTRATOR and actor.role == ADMINISTRATOR:
        raise EnterpriseError("not_allowed")  # only the representative appoints them
    if role == ADMINISTRATOR and matters is not None:
        raise EnterpriseError("administrator_matters")
    if person.id == enterprise.legal_representative_id:
        raise EnterpriseError("representative")
    _period(starts_at, ends_at, now)
    if _open_appointment(enterprise, person, role) is not None:
        raise EnterpriseError("already_appointed")
    if role == ADMINISTRATOR:
        count = Appointment.query.filter(
            Appointment.enterprise_id == enterprise.id, Appointment.role == ADMINISTRATOR,
            Appointment.status.in_(("invited", "active")),
            or_(Appointment.ends_at.is_(None), Appointment.ends_at > now)).count()
        if count >= current_app.config["ENTERPRISE_MAX_ADMINISTRATORS"]:
            raise EnterpriseError("too_many_administrators")
    appointment = Appointment(
        enterprise_id=enterprise.id, user_id=person.id, role=role,
        matters=list(matters) if matters is not None else None, starts_at=starts_at,
        ends_at=ends_at, status="invited" if actor.in_person else "active",
        appointed_by=actor.code, appointed_as=actor.role or OPERATOR,
        granted_by_id=actor.appointment.id if actor.appointment else None,
        accepted_at=None if actor.in_person else now)
    db.session.add(appointment)
    db.session.flush()
    _audit("enterprise.appointed", enterprise, actor, user_id=person.id,
           appointment=appointment.id, after={
               "person": f"user:{person.id}", "role": role,
               "matters": details.written(appointment.matters), "starts_at": starts_at,
               "ends_at": ends_at, "status": appointment.status})
    return appointment


def answer_invitation(appointment, user, accept: bool):
    """The invited person accepts (the appointment is in force from its start) or declines."""
    if appointment.user_id != user.id or appointment.status != "invited":
        raise EnterpriseError("closed")
    _operating(appointment.enterprise)
    now = _now()
    if accept:
        _period(appointment.starts_at, appointment.ends_at, now)
    appointment.status = "active" if accept else "declined"
    appointment.accepted_at = now if accept else None
    if not accept:
        appointment.ended_at = now
    _audit("enterprise.appointment.accepted" if accept else "enterprise.appointment.declined",
           appointment.enterprise, Actor(f"user:{user.id}", appointment.role, user),
           appointment=appointment.id)


def may_end(actor: Actor, appointment) -> bool:
    """Operators and staff; the appointee; the representative; an administrator for
    handlers."""
    if not actor.in_person:
        return True
    if actor.user is not None and actor.user.id == appointment.user_id:
        return True
    return actor.role == REPRESENTATIVE or (actor.role == ADMINISTRATOR
                                            and appointment.role == HANDLER)


def end_appointment(appointment, *, actor: Actor, reason=None):
    """End an appointment (or withdraw an invitation); what an administrator granted ends
    with their appointment."""
    if appointment.status not in ("invited", "active"):
        raise EnterpriseError("closed")
    if not may_end(actor, appointment):
        raise EnterpriseError("not_allowed")
    _end(appointment, actor, (reason or "").strip()[:200] or None)


def _end(appointment, actor, reason):
    now = _now()
    appointment.status, appointment.ended_at = "ended", now
    appointment.ended_by, appointment.end_reason = actor.code, reason
    _audit("enterprise.appointment.ended", appointment.enterprise, actor,
           user_id=appointment.user_id, appointment=appointment.id, reason=reason,
           before={"role": appointment.role, "person": f"user:{appointment.user_id}"})
    if appointment.role != ADMINISTRATOR:
        return
    because = f"appointment {appointment.id} (administrator) ended"
    for granted in Appointment.query.filter(Appointment.granted_by_id == appointment.id,
                                            Appointment.status.in_(("invited", "active"))):
        _end(granted, actor, because)
    for given in Authorisation.query.filter_by(granted_by_appointment_id=appointment.id,
                                               status="active"):
        _end_authorisation(given, actor, because)


def end_for_person(enterprise, person, *, actor: Actor, role=None):
    """An operator ends every open appointment of ``person`` (of ``role``, if given)."""
    rows = Appointment.query.filter(Appointment.enterprise_id == enterprise.id,
                                    Appointment.user_id == person.id,
                                    Appointment.status.in_(("invited", "active")))
    if role:
        rows = rows.filter(Appointment.role == role)
    rows = rows.all()
    for appointment in rows:
        _end(appointment, actor, None)
    return len(rows)


# --- Third-party authorisations ---------------------------------------------------------------

def authorise(principal, agent_code, *, actor: Actor, matters=None, starts_at=None,
              ends_at=None):
    """The principal authorises an agent firm (another operating enterprise registered here)
    for ``matters`` (None: all) from ``starts_at`` until ``ends_at`` (required)."""
    _operating(principal)
    if actor.in_person and actor.role not in (REPRESENTATIVE, ADMINISTRATOR):
        raise EnterpriseError("not_allowed")
    agent = find(agent_code)
    if agent is None or agent.id == principal.id or not agent.is_operating:
        raise EnterpriseError("agent")
    if ends_at is None:
        raise EnterpriseError("end_required")
    now = _now()
    starts_at = now if starts_at is None else starts_at
    _period(starts_at, ends_at, now)
    given = Authorisation(principal_id=principal.id, agent_id=agent.id,
                          matters=list(matters) if matters is not None else None,
                          starts_at=starts_at, ends_at=ends_at, granted_by=actor.code,
                          granted_as=actor.role or OPERATOR,
                          granted_by_appointment_id=actor.appointment.id
                          if actor.appointment else None)
    db.session.add(given)
    db.session.flush()
    _audit("enterprise.authorised", principal, actor, authorisation=given.id, after={
        "agent": agent.credit_code, "matters": details.written(given.matters),
        "starts_at": starts_at, "ends_at": ends_at})
    return given


def end_authorisation(given, *, actor: Actor, reason=None):
    """Either side (its representative or an administrator), an operator or staff ends it."""
    if given.status != "active":
        raise EnterpriseError("closed")
    if actor.in_person:
        sides = (manager(actor.user, given.principal), manager(actor.user, given.agent))
        actor = next((side for side in sides if side is not None), None)
        if actor is None:
            raise EnterpriseError("not_allowed")
    _end_authorisation(given, actor, (reason or "").strip()[:200] or None)


def _end_authorisation(given, actor, reason):
    given.status, given.ended_at = "ended", _now()
    given.ended_by, given.end_reason = actor.code, reason
    _audit("enterprise.authorisation.ended", given.principal, actor, authorisation=given.id,
           reason=reason, before={"agent": given.agent.credit_code})


# --- Authority ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Authority:
    """What a person may do for an enterprise: their ``role`` (for an agent firm's people:
    ``agent``, with the firm and their role there), the matters (None: all) and until when
    (None: until ended)."""

    enterprise: Enterprise
    role: str
    matters: tuple | None
    until: int | None
    appointment_id: int | None = None
    agent: Enterprise | None = None
    agent_role: str | None = None
    authorisation_id: int | None = None

    @property
    def basis(self) -> dict:
        """What the authority rests on, for ``still_holds``: the enterprise the person holds
        a role at, their appointment there (None: its legal representative) and the
        third-party authorisation (None: none)."""
        return {"enterprise_id": (self.agent or self.enterprise).id,
                "appointment_id": self.appointment_id,
                "authorisation_id": self.authorisation_id}


def _own_authorities(user, now):
    found = [Authority(e, REPRESENTATIVE, None, None) for e in Enterprise.query.filter_by(
        legal_representative_id=user.id, status=OPERATING).order_by(Enterprise.id)]
    rows = (Appointment.query.join(Appointment.enterprise)
            .filter(Appointment.user_id == user.id, Appointment.status == "active",
                    Appointment.starts_at <= now,
                    or_(Appointment.ends_at.is_(None), Appointment.ends_at > now),
                    Enterprise.status == OPERATING)
            .order_by(Appointment.id))
    for appointment in rows:
        matters = tuple(appointment.matters) if appointment.matters is not None else None
        found.append(Authority(appointment.enterprise, appointment.role, matters,
                               appointment.ends_at, appointment_id=appointment.id))
    return found


def authorities_of(user, now=None) -> list[Authority]:
    """Every authority the person has now, their own first, then through agent firms."""
    now = _now() if now is None else now
    own = _own_authorities(user, now)
    by_firm = {}
    for authority in own:
        by_firm.setdefault(authority.enterprise.id, []).append(authority)
    found = sorted(own, key=lambda a: RANK[a.role])
    if not by_firm:
        return found
    principal = aliased(Enterprise)
    given = (Authorisation.query.join(principal, Authorisation.principal_id == principal.id)
             .filter(Authorisation.agent_id.in_(by_firm), Authorisation.status == "active",
                     Authorisation.starts_at <= now, Authorisation.ends_at > now,
                     principal.status == OPERATING)
             .order_by(Authorisation.id))
    for authorisation in given:
        allowed = (tuple(authorisation.matters) if authorisation.matters is not None
                   else None)
        for own_authority in sorted(by_firm[authorisation.agent_id], key=lambda a: RANK[a.role]):
            matters = details.intersect(own_authority.matters, allowed)
            if matters == ():
                continue
            ends = [t for t in (own_authority.until, authorisation.ends_at) if t is not None]
            found.append(Authority(authorisation.principal, AGENT, matters, min(ends),
                                   appointment_id=own_authority.appointment_id,
                                   agent=own_authority.enterprise,
                                   agent_role=own_authority.role,
                                   authorisation_id=authorisation.id))
    return found


def choices(user, asked: details.Asked | None = None, now=None) -> list[Authority]:
    """The enterprises the person may act for in this login, one authority each (the first
    in ``RANK`` order that covers what the platform ``asked``)."""
    chosen = {}
    for authority in authorities_of(user, now):
        code = authority.enterprise.credit_code
        if code in chosen:
            continue
        if asked is not None and (not details.covers(authority.matters, asked.matters) or (
                asked.credit_code and asked.credit_code != code)):
            continue
        chosen[code] = authority
    return list(chosen.values())


def acting(user, credit_code, asked: details.Asked | None = None) -> dict | None:
    """What a login acting for the enterprise ``credit_code`` carries into its tokens (JSON
    for the code and token records), or None when the person may not act for it (as asked):
    the enterprise, the person's role, what the authority rests on, the agent firm, and the
    granted ``authorization_details``."""
    authority = next((a for a in choices(user, asked) if a.enterprise.credit_code ==
                      credit_code), None)
    if authority is None:
        return None
    matters = asked.matters if asked is not None else details.written(authority.matters)
    detail = {"type": details.TYPE, "credit_code": credit_code, "role": authority.role,
              "matters": list(matters)}
    if authority.until is not None:
        detail["valid_until"] = authority.until
    return {"credit_code": credit_code, "role": authority.role, "basis": authority.basis,
            "agent": authority.agent.credit_code if authority.agent else None,
            "agent_role": authority.agent_role, "authorization_details": [detail]}


def still_holds(user_id, acting, now=None) -> bool:
    """Whether the authority a token was issued on stands now: its enterprises operating, the
    appointment (or the representative's role) and the third-party authorisation in force.
    One query."""
    now = _now() if now is None else now
    basis = acting.get("basis") or {}
    base = aliased(Enterprise)
    stmt = (select(literal(1)).select_from(base)
            .where(base.id == basis.get("enterprise_id"), base.status == OPERATING))
    if basis.get("appointment_id"):
        stmt = stmt.join(Appointment, and_(Appointment.enterprise_id == base.id,
                                           Appointment.id == basis["appointment_id"])).where(
            Appointment.user_id == user_id, Appointment.status == "active",
            Appointment.starts_at <= now,
            or_(Appointment.ends_at.is_(None), Appointment.ends_at > now))
    else:
        stmt = stmt.where(base.legal_representative_id == user_id)
    if basis.get("authorisation_id"):
        principal = aliased(Enterprise)
        stmt = (stmt.join(Authorisation, and_(Authorisation.agent_id == base.id,
                                              Authorisation.id == basis["authorisation_id"]))
                .join(principal, principal.id == Authorisation.principal_id)
                .where(Authorisation.status == "active", Authorisation.starts_at <= now,
                       Authorisation.ends_at > now, principal.status == OPERATING,
                       principal.credit_code == acting.get("credit_code")))
    return db.session.execute(stmt.limit(1)).first() is not None


def act_claim(acting, subject) -> dict:
    """RFC 8693 ``act``: the acting person (``sub``, the same subject as the token's), and for
    an agent firm's person the firm as the prior actor (nested ``act``, its credit code)."""
    act = {"sub": subject}
    if acting.get("agent"):
        act["act"] = {"sub": acting["agent"]}
    return act


def enterprise_claim(acting) -> dict:
    """The ``enterprise`` claim: the enterprise as it is now and the person's role (for an
    agent firm's person also the firm and their role there)."""
    wanted = [acting["credit_code"], *([acting["agent"]] if acting.get("agent") else [])]
    found = {e.credit_code: e for e in Enterprise.query.filter(
        Enterprise.credit_code.in_(wanted))}
    enterprise = found.get(acting["credit_code"])
    claim = {"credit_code": acting["credit_code"], "role": acting["role"]}
    if enterprise is not None:
        claim.update(name=enterprise.name, entity_type=enterprise.entity_type,
                     status=enterprise.status)
    agent = found.get(acting.get("agent"))
    if agent is not None:
        claim["agent"] = {"credit_code": agent.credit_code, "name": agent.name,
                          "role": acting["agent_role"]}
    return claim


def record_acting(user, authority, client_id, how):
    """Audit that a login acts for an enterprise (``how``: chosen, only_choice, remembered)."""
    audit.record("enterprise.acted", user_id=user.id, role=authority.role,
                 target=target(authority.enterprise),
                 detail={"client_id": client_id, "how": how,
                         **({"agent": authority.agent.credit_code} if authority.agent else {})})
