"""The admin API's enterprise operations (``/admin/api/enterprises``, joining
``idp.admin.api.bp``; documented in ``idp.admin.openapi``): search, one enterprise with its
people and authorisations, its status, its audit events."""

from idp.admin.api import ApiError
from idp.admin.api import _body
from idp.admin.api import _choice_arg
from idp.admin.api import _int_arg
from idp.admin.api import _optional_text
from idp.admin.api import _page
from idp.admin.api import _paging
from idp.admin.api import _text_arg
from idp.admin.api import bp
from idp.admin.api import requires
from idp.admin.service import MAX_ID
from idp.admin.service import MAX_PER_PAGE
from idp.audit import service as audit
from idp.enterprise import details
from idp.enterprise import service
from idp.enterprise.models import ENTERPRISE_STATES


def _enterprise(credit_code):
    enterprise = service.find(credit_code)
    if enterprise is None:
        raise ApiError(404, "not_found", "no such enterprise")
    return enterprise


def enterprise_view(enterprise) -> dict:
    return {"credit_code": enterprise.credit_code, "name": enterprise.name,
            "entity_type": enterprise.entity_type, "status": enterprise.status,
            "status_reason": enterprise.status_reason,
            "legal_representative_id": enterprise.legal_representative_id,
            "verification": enterprise.verification, "verified_at": enterprise.verified_at,
            "created_at": enterprise.created_at, "updated_at": enterprise.updated_at}


def _appointment(a) -> dict:
    return {"id": a.id, "user_id": a.user_id, "role": a.role,
            "matters": details.written(a.matters), "starts_at": a.starts_at,
            "ends_at": a.ends_at, "status": a.status, "appointed_by": a.appointed_by,
            "appointed_as": a.appointed_as}


def _authorisation(t) -> dict:
    return {"id": t.id, "principal": t.principal.credit_code, "agent": t.agent.credit_code,
            "matters": details.written(t.matters), "starts_at": t.starts_at,
            "ends_at": t.ends_at, "status": t.status}


def enterprise_detail(enterprise) -> dict:
    return {**enterprise_view(enterprise),
            "appointments": [_appointment(a) for a in service.appointments_of(enterprise)],
            "authorisations_given": [_authorisation(t) for t in
                                     service.authorisations_given(enterprise)],
            "authorisations_received": [_authorisation(t) for t in
                                        service.authorisations_received(enterprise)]}


@bp.get("/enterprises")
@requires("enterprises.read")
def enterprises_search(acting):
    page, per_page = _paging()
    rows, total = service.search(_text_arg("q"), _choice_arg("status", ENTERPRISE_STATES),
                                 page=page, per_page=per_page)
    return _page([enterprise_view(e) for e in rows], page, per_page, total)


@bp.get("/enterprises/<credit_code>")
@requires("enterprises.read")
def enterprise_get(acting, credit_code):
    return enterprise_detail(_enterprise(credit_code))


@bp.post("/enterprises/<credit_code>/status")
@requires("enterprises.write")
def enterprise_status(acting, credit_code):
    enterprise = _enterprise(credit_code)
    body = _body()
    if body.get("status") not in ENTERPRISE_STATES:
        raise ApiError(400, "invalid_request",
                       f"status must be one of {', '.join(ENTERPRISE_STATES)}")
    service.set_status(enterprise, body["status"], reason=_optional_text(body, "reason", 500),
                       actor=service.Actor.operator(acting.actor, acting.role))
    return enterprise_detail(enterprise)


@bp.get("/enterprises/<credit_code>/events")
@requires("enterprises.read")
def enterprise_events(acting, credit_code):
    enterprise = _enterprise(credit_code)
    return audit.events({"target": service.target(enterprise)},
                        after_id=_int_arg("after_id", None, 1, MAX_ID),
                        limit=_int_arg("per_page", 50, 1, MAX_PER_PAGE), newest_first=True)
