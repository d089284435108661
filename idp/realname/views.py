"""The citizen's identity pages: bind a document (registry match, level 2), add a face check
(level 3). They serve two places with the same handlers: ``/account/identity`` (the citizen's
own pages) and ``/interaction/<uid>/identity`` (a platform asked for a level the account has
not reached: after the step the login resumes; "cancel" gives the platform
``unmet_authentication_requirements``)."""

from dataclasses import dataclass
from functools import wraps

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from idp.accounts import sessions
from idp.accounts.models import User
from idp.errors import UserFacingError
from idp.extensions import db
from idp.extensions import limiter
from idp.interaction.journey import Journey
from idp.interaction.journey import login_for_account
from idp.interaction.steps import IDENTITY
from idp.interaction.steps import INTERACTION_HEADERS
from idp.realname import documents
from idp.realname import service
from idp.realname.models import REGISTRY

bp = Blueprint("realname", __name__)

LEVEL_TEXT = {
    1: lambda: _("Level 1: not verified (self-declared)"),
    2: lambda: _("Level 2: name and document number verified with the registry"),
    3: lambda: _("Level 3: verified with the registry and a face check"),
    4: lambda: _("Level 4: verified in person at a service counter"),
}


@bp.app_template_global()
def level_text(level):
    return LEVEL_TEXT.get(level, LEVEL_TEXT[1])()


@dataclass
class Subject:
    """Whose identity the page is about, and the login journey it is a step of (if any)."""

    user: User
    journey: Journey | None = None

    def url(self, endpoint, **values):
        if self.journey is not None:
            values["uid"] = self.journey.uid
        return url_for(endpoint, **values)


def for_subject(view):
    """View decorator: the page's ``Subject``; without a session, the login pages first."""
    @wraps(view)
    def wrapper(uid):
        subject = _subject(uid)
        if subject is None:
            return login_for_account(url_for("realname.page"))
        return view(subject)
    return wrapper


def _subject(uid):
    """The citizen of this browser's session; inside an interaction, the one who logged in for
    it (the same browser), at the ``identity`` stage."""
    session = sessions.current()
    user = db.session.get(User, session["user_id"]) if session else None
    if uid is None:
        if user is None or not user.is_active:
            return None
        return Subject(user)
    journey = Journey.load(uid)
    login = journey.record.login
    if (journey.record.step != IDENTITY.name or not login or session is None
            or session["sid"] != login.sid or user is None or not user.is_active):
        raise UserFacingError("invalid_request", _(
            "This login request has expired. Return to the service and start again."))
    return Subject(user, journey)


def _page(subject, error=None, status=200, form=None):
    html = render_template(
        "realname/identity.html", subject=subject, identity=service.summary(subject.user),
        doc_types=[(t, documents.type_label(t)) for t in documents.DOCUMENT_TYPES],
        required=subject.journey.needs.level if subject.journey else None, error=error,
        form=form or {}, REGISTRY=REGISTRY)
    if subject.journey is not None:
        return html, status, INTERACTION_HEADERS
    return html, status, {"Cache-Control": "no-store"}


def _refused(subject, error, form=None):
    status = {"unavailable": 503, "too_many_attempts": 429}.get(error.code, 400)
    return _page(subject, error.message, status, form)


def _after_step(subject):
    """Back to the platform once its level is reached; otherwise the page again."""
    if subject.journey is not None and subject.user.loa >= subject.journey.needs.level:
        return subject.journey.advance()
    return redirect(subject.url("realname.page"), code=303)


@bp.route("/account/identity", defaults={"uid": None})
@bp.route("/interaction/<uid>/identity")
@for_subject
def page(subject):
    return _page(subject)


@bp.route("/account/identity/registry", methods=["POST"], defaults={"uid": None})
@bp.route("/interaction/<uid>/identity/registry", methods=["POST"])
@limiter.limit("20 per hour")
@for_subject
def registry(subject):
    form = {k: request.form.get(k, "")[:200] for k in ("doc_type", "name", "number",
                                                       "nationality")}
    if request.form.get("agree") != "yes":
        return _page(subject, _("Agree to the check with the registry to continue."), 400, form)
    if form["doc_type"] not in documents.DOCUMENT_TYPES:
        return _page(subject, _("Choose the type of your document."), 400, form)
    try:
        service.verify_with_registry(subject.user, form["doc_type"], form["name"],
                                     form["number"], form["nationality"])
    except service.RealNameError as exc:
        return _refused(subject, exc, form)
    return _after_step(subject)


@bp.route("/account/identity/face", methods=["POST"], defaults={"uid": None})
@bp.route("/interaction/<uid>/identity/face", methods=["POST"])
@limiter.limit("20 per hour")
@for_subject
def face(subject):
    # from the issuer, not the request's Host header
    back = current_app.config["ISSUER"] + subject.url("realname.face_return")
    try:
        target = service.start_face(subject.user, back)
    except service.RealNameError as exc:
        return _refused(subject, exc)
    return redirect(target, code=303)


@bp.route("/account/identity/face/return", defaults={"uid": None})
@bp.route("/interaction/<uid>/identity/face/return")
@for_subject
def face_return(subject):
    try:
        service.finish_face(subject.user, request.args.get("state", "")[:100],
                            request.args.get("face_session", "")[:100])
    except service.RealNameError as exc:
        return _refused(subject, exc)
    return _after_step(subject)


@bp.route("/interaction/<uid>/identity/cancel", methods=["POST"])
def cancel(uid):
    """The citizen cannot or will not verify now: the platform hears
    ``unmet_authentication_requirements``."""
    return _subject(uid).journey.give_up()
