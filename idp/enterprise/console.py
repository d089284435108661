"""The console's enterprise pages (``/admin/enterprises``, joining ``idp.admin.console.bp``):
search, an enterprise's facts, people, authorisations and audit events, and its status
(operating, cancelled, revoked: recorded from the registry by staff with
``enterprises.write``, asked first, audited in the narrowest role)."""

from flask import request
from flask import url_for
from flask_babel import gettext as _

from idp.admin import readable
from idp.admin import service as admin_service
from idp.admin.console import PER_PAGE
from idp.admin.console import _asked_first
from idp.admin.console import _int_arg
from idp.admin.console import bp
from idp.admin.console import done
from idp.admin.console import page
from idp.admin.console import staff_only
from idp.enterprise import codes
from idp.enterprise import labels
from idp.enterprise import service
from idp.enterprise.models import ENTERPRISE_STATES
from idp.errors import UserFacingError

STATUS_QUESTIONS = {
    "operating": lambda: _("It acts again through its legal representative, administrators "
                           "and handlers."),
    "cancelled": lambda: _("Nobody acts for it any more: its tokens stop at their next use "
                           "and cannot be refreshed."),
    "revoked": lambda: _("Nobody acts for it any more: its tokens stop at their next use and "
                         "cannot be refreshed."),
}


def _enterprise(credit_code):
    enterprise = service.find(credit_code)
    if enterprise is None:
        raise UserFacingError("not_found", _("There is no such enterprise."), 404)
    return enterprise


@bp.route("/enterprises")
@staff_only("enterprises.read")
def enterprises(staff):
    q = request.args.get("q", "")[:200].strip()
    status = request.args.get("status")
    status = status if status in ENTERPRISE_STATES else None
    number = _int_arg("page", 1, 1, 10_000)
    rows, total = service.search(q or None, status, page=number, per_page=PER_PAGE)
    return page("admin/enterprises.html", staff, rows=rows, total=total, q=q, status=status,
                number=number, pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
                states=ENTERPRISE_STATES)


@bp.route("/enterprises/<credit_code>")
@staff_only("enterprises.read")
def enterprise(staff, credit_code):
    row = _enterprise(credit_code)
    events = service.history(row)
    return page("admin/enterprise.html", staff, enterprise=row,
                code=codes.parse(row.credit_code), appointments=service.appointments_of(row),
                given=service.authorisations_given(row),
                received=service.authorisations_received(row), events=events,
                states=ENTERPRISE_STATES, describe=readable.describe,
                who=admin_service.who(e["actor"] for e in events))


@bp.route("/enterprises/<credit_code>/status", methods=["GET", "POST"])
@staff_only("enterprises.write")
def enterprise_status(staff, credit_code):
    row = _enterprise(credit_code)
    status = request.args.get("status")
    back = url_for(".enterprise", credit_code=row.credit_code)
    if status not in ENTERPRISE_STATES or status == row.status:
        return done(_("Nothing was changed."), ".enterprise", credit_code=row.credit_code)
    asking = _asked_first(
        staff, ".enterprise_status", {"credit_code": row.credit_code, "status": status},
        title=_("Mark %(name)s as %(status)s?", name=row.name,
                status=labels.status_label(status)),
        question=STATUS_QUESTIONS[status](), button=_("Change the status"), back=back,
        reason=_("Reason (kept with the enterprise and in the audit log)"))
    if asking:
        return asking
    service.set_status(row, status, reason=request.form.get("reason", ""),
                       actor=service.Actor.operator(staff.actor, staff.role))
    return done(_("The status was changed."), ".enterprise", credit_code=row.credit_code)

