"""The service counter: a clerk (role ``counter_clerk``, logged in with two factors) checks a
citizen's original document in person and records it, which raises the account to level 4.
Every act is audited with the clerk's identity."""

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from idp.accounts import sessions
from idp.accounts.models import User
from idp.accounts.service import AccountError
from idp.accounts.service import find_by_phone
from idp.admin.roles import acting_staff
from idp.audit import service as audit
from idp.errors import UserFacingError
from idp.extensions import db
from idp.interaction.journey import login_for_account
from idp.realname import documents
from idp.realname import service
from idp.realname.views import bp

ROLE = "counter_clerk"


def _clerk():
    session = sessions.current()
    if session is None:
        return None
    if not acting_staff(session, ROLE):
        raise UserFacingError("access_denied", _(
            "This page is for counter staff, logged in with a second factor."), 403)
    return db.session.get(User, session["user_id"])


def _citizen(phone):
    try:
        return find_by_phone(phone)
    except AccountError:
        return None


def _page(citizen=None, phone="", error=None, notice=None, status=200, form=None,
          offer_transfer=False):
    html = render_template(
        "realname/counter.html", citizen=citizen, phone=phone, error=error, notice=notice,
        offer_transfer=offer_transfer,
        identity=service.summary(citizen) if citizen else None, form=form or {},
        doc_types=[(t, documents.type_label(t)) for t in documents.DOCUMENT_TYPES])
    return html, status, {"Cache-Control": "no-store"}


@bp.route("/counter")
def counter():
    clerk = _clerk()
    if clerk is None:
        return login_for_account(url_for("realname.counter"))
    phone = request.args.get("phone", "")[:32].strip()
    if not phone:
        return _page()
    citizen = _citizen(phone)
    if citizen is None:
        return _page(phone=phone, error=_("No account has this mobile number."), status=404)
    audit.record("counter.lookup", actor=f"user:{clerk.id}", role=ROLE, user_id=citizen.id,
                 target=f"user:{citizen.id}")  # who looked at whose identity
    return _page(citizen, phone)


@bp.route("/counter/verify", methods=["POST"])
def counter_verify():
    clerk = _clerk()
    if clerk is None:
        return login_for_account(url_for("realname.counter"))
    phone = request.form.get("phone", "")[:32]
    citizen = _citizen(phone)
    if citizen is None:
        return _page(phone=phone, error=_("No account has this mobile number."), status=404)
    form = {k: request.form.get(k, "")[:200] for k in ("doc_type", "name", "number",
                                                       "nationality")}
    if request.form.get("checked") != "yes":
        return _page(citizen, phone, _("Confirm that you checked the original document."),
                     status=400, form=form)
    if form["doc_type"] not in documents.DOCUMENT_TYPES:
        return _page(citizen, phone, _("Choose the type of the document."), status=400,
                     form=form)
    transfer = request.form.get("transfer") == "yes"
    try:
        service.verify_in_person(clerk, citizen, form["doc_type"], form["name"], form["number"],
                                 form["nationality"], transfer=transfer)
    except service.RealNameError as exc:
        return _page(citizen, phone, exc.message, status=400, form=form,
                     offer_transfer=exc.code == "already_bound")
    return redirect(url_for("realname.counter", phone=phone, done=1), code=303)
