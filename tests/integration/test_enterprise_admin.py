"""Managing enterprises: the command line (contract), the self-service pages of legal
representatives and administrators (who may do what; every change a redirect, audited with
actor and role), the console and the admin API (search, status, audit)."""

import json

import pytest

from idp.enterprise import service
from idp.enterprise.models import Appointment
from idp.enterprise.models import Authorisation
from idp.enterprise.models import Enterprise
from tests import factories as f
from tests.integration.test_admin_api import Api
from tests.integration.test_admin_api import client_token
from tests.integration.test_admin_api import events
from tests.integration.test_admin_api import make_staff
from tests.integration.test_admin_console import console
from tests.integration.test_admin_console import send
from tests.integration.test_enterprise_acting import AGENCY
from tests.integration.test_enterprise_acting import LI
from tests.integration.test_enterprise_acting import OPERATOR
from tests.integration.test_enterprise_acting import TECH
from tests.integration.test_enterprise_acting import TRADE
from tests.integration.test_enterprise_acting import WANG
from tests.integration.test_enterprise_acting import ZHANG
from tests.integration.test_enterprise_acting import ZHAO
from tests.integration.test_enterprise_acting import html
from tests.integration.test_enterprise_acting import person


def run(app, *args):
    return app.test_cli_runner().invoke(args=["enterprises", *args])


def count(app, model, **filters):
    with app.app_context():
        return model.query.filter_by(**filters).count()


@pytest.fixture
def citizens(app):
    with app.app_context():
        return {phone: f.user(phone=phone, name=name).id for phone, name in (
            (ZHANG, "张三"), (LI, "李四"), (WANG, "王五"), (ZHAO, "赵六"))}


# --- the command line -----------------------------------------------------------------------

def test_create_appoint_show_list_revoke_and_status(app, citizens):
    r = run(app, "create", "--credit-code", "9111 0108 0000 0001 94", "--name", "示例科技有限公司",
            "--legal-representative-phone", ZHANG, "--json")
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    assert {k: created[k] for k in ("credit_code", "name", "entity_type", "status",
                                    "legal_representative_id", "verification")} == {
        "credit_code": TECH, "name": "示例科技有限公司", "entity_type": "enterprise",
        "status": "operating", "legal_representative_id": citizens[ZHANG],
        "verification": "declared"}
    with app.app_context():
        assert person(ZHANG).loa == 1  # the representative's own level is unchanged
    r = run(app, "appoint", "--credit-code", TECH, "--phone", LI, "--role", "handler",
            "--matter", "tax.pay", "--matter", "tax.declare", "--until", "2099-12-31", "--json")
    assert r.exit_code == 0, r.output
    appointed = json.loads(r.output)
    assert {k: appointed[k] for k in ("credit_code", "user_id", "role", "matters", "status",
                                      "ends_at")} == {
        "credit_code": TECH, "user_id": citizens[LI], "role": "handler",
        "matters": ["tax.declare", "tax.pay"], "status": "active", "ends_at": 4102416000}
    r = run(app, "appoint", "--credit-code", TECH, "--phone", ZHAO, "--role",
            "administrator", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["matters"] == ["*"]
    shown = json.loads(run(app, "show", "--credit-code", TECH, "--json").output)
    assert [(a["user_id"], a["role"]) for a in shown["appointments"]] == [
        (citizens[ZHAO], "administrator"), (citizens[LI], "handler")]
    listed = json.loads(run(app, "list", "--json").output)
    assert [e["credit_code"] for e in listed["items"]] == [TECH] and listed["total"] == 1
    assert run(app, "list").output == f"{TECH}  operating  示例科技有限公司\n"
    r = run(app, "revoke", "--credit-code", TECH, "--phone", LI)
    assert r.exit_code == 0 and r.output == f"{TECH}: 1 appointment(s) of +86{LI} ended\n"
    r = run(app, "revoke", "--credit-code", TECH, "--phone", LI)
    assert r.exit_code == 1 and f"+86{LI} has no open appointment at {TECH}" in r.output
    r = run(app, "status", "--credit-code", TECH, "--set", "revoked")
    assert r.exit_code == 0 and r.output == f"{TECH}: revoked\n"
    trail = events(app, target=f"enterprise:{TECH}")
    assert [(e.action, e.role) for e in trail] == [
        ("enterprise.created", "operator"), ("enterprise.appointed", "operator"),
        ("enterprise.appointed", "operator"), ("enterprise.appointment.ended", "operator"),
        ("enterprise.status", "operator")]
    assert all(e.actor.startswith("cli:") for e in trail)


@pytest.mark.parametrize("args, message", [
    (("--credit-code", TECH[:-1] + "X"), "--credit-code: "),
    (("--credit-code", "12345"), "--credit-code: "),
    (("--legal-representative-phone", "13500135000"),
     "--legal-representative-phone: no account has the number 13500135000"),
    (("--legal-representative-phone", "12345"),
     "--legal-representative-phone: '12345' is not a valid phone number"),
    (("--entity-type", "bank"), "--entity-type: unknown"),
    (("--name", " "), None),
])
def test_create_refuses_bad_input_and_creates_nothing(app, citizens, args, message):
    given = {"--credit-code": TECH, "--name": "示例科技有限公司",
             "--legal-representative-phone": ZHANG}
    given.update(dict(zip(args[::2], args[1::2], strict=True)))
    r = run(app, "create", *[x for pair in given.items() for x in pair], "--json")
    assert r.exit_code == 1, r.output
    if message:
        assert message in r.output
    assert count(app, Enterprise) == 0


def test_appoint_refuses_what_the_rules_refuse(app, citizens):
    run(app, "create", "--credit-code", TECH, "--name", "示例", "--legal-representative-phone",
        ZHANG)
    for args in (("--phone", ZHANG, "--role", "handler"),           # the representative
                 ("--phone", LI, "--role", "administrator", "--matter", "tax.pay"),
                 ("--phone", LI, "--role", "handler", "--until", "2020-01-01"),
                 ("--phone", LI, "--role", "handler", "--until", "31/12/2099"),
                 ("--phone", LI, "--role", "handler", "--until", "9999-12-31"),
                 ("--phone", LI, "--role", "handler", "--matter", "税务"),
                 ("--phone", "13500135000", "--role", "handler")):
        r = run(app, "appoint", "--credit-code", TECH, *args)
        assert r.exit_code == 1, (args, r.output)
    r = run(app, "appoint", "--credit-code", TRADE, "--phone", LI, "--role", "handler")
    assert r.exit_code == 1 and "--credit-code: " in r.output
    assert count(app, Appointment) == 0


def test_a_client_is_registered_for_the_enterprise_scope_like_any_other(app):
    r = app.test_cli_runner().invoke(args=[
        "clients", "create", "--name", "企业服务", "--redirect-uri", "https://biz.gov.example/cb",
        "--scope", "openid profile enterprise", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["scope"] == "openid profile enterprise"


# --- self-service: who may do what ----------------------------------------------------------

@pytest.fixture
def tech(app, citizens):
    with app.app_context():
        service.declare(TECH, "示例科技有限公司", person(ZHANG), actor=OPERATOR)
        service.declare(AGENCY, "示例财税代理有限公司", person(WANG), actor=OPERATOR)


def signed_in(app, phone):
    flow = f.Flow(app.test_client())
    flow.login(flow.follow(flow.get("/account/enterprises")), username=phone)
    return flow


def test_only_the_representative_and_administrators_manage(app, tech):
    flow = signed_in(app, LI)
    page = flow.get(f"/account/enterprises/{TECH}?lang=en")
    assert page.status_code == 403 and "Only the legal representative" in html(page)
    r = flow.post(f"/account/enterprises/{TECH}/appoint", data={"phone": LI, "role": "handler"})
    assert r.status_code in (400, 403)  # no CSRF token, or no right: never a change
    assert count(app, Appointment) == 0


def test_an_administrator_appoints_handlers_but_not_administrators(app, tech):
    with app.app_context():
        service.appoint(service.get(TECH), person(ZHAO), "administrator", actor=OPERATOR)
    flow = signed_in(app, ZHAO)
    page = flow.get(f"/account/enterprises/{TECH}?lang=en")
    assert 'value="administrator"' not in html(page)
    r = send(flow, page, "/appoint", phone=LI, role="administrator")
    assert r.status_code == 303
    assert "You may not do this for this enterprise." in html(flow.follow(r))
    r = send(flow, flow.get(f"/account/enterprises/{TECH}"), "/appoint", phone=LI,
             role="handler", matters="tax.declare")
    assert r.status_code == 303
    appointed = events(app, action="enterprise.appointed")[-1]
    assert (appointed.actor, appointed.role) == (f"user:{person_id(app, ZHAO)}",
                                                 "administrator")
    with app.app_context():
        row = Appointment.query.filter_by(user_id=person(LI).id).one()
        assert (row.status, row.matters, row.granted_by_id is not None) == (
            "invited", ["tax.declare"], True)


def person_id(app, phone):
    with app.app_context():
        return person(phone).id


@pytest.mark.config(ENTERPRISE_MAX_ADMINISTRATORS=1)
def test_the_number_of_administrators_is_limited(app, tech):
    flow = signed_in(app, ZHANG)
    page = flow.get(f"/account/enterprises/{TECH}?lang=en")
    assert send(flow, page, "/appoint", phone=LI, role="administrator").status_code == 303
    r = send(flow, page, "/appoint", phone=ZHAO, role="administrator")
    assert "An enterprise has at most 1 administrators." in html(flow.follow(r))
    assert count(app, Appointment, role="administrator") == 1


def test_invitations_are_declined_and_appointments_given_up(app, tech):
    with app.app_context():
        tech_row = service.get(TECH)
        rep = service.manager(person(ZHANG), tech_row)
        service.appoint(tech_row, person(LI), "handler", actor=rep)
        service.appoint(tech_row, person(ZHAO), "handler", actor=OPERATOR)
    flow = signed_in(app, LI)
    r = send(flow, flow.get("/account/enterprises"), "/invitations/", answer="decline")
    assert r.status_code == 303 and count(app, Appointment, status="declined") == 1
    flow = signed_in(app, ZHAO)
    r = send(flow, flow.get("/account/enterprises"), "/end")
    assert r.status_code == 303 and r.headers["Location"] == "/account/enterprises"
    assert count(app, Appointment, status="ended") == 1
    trail = [(e.action, e.role) for e in events(app, target=f"enterprise:{TECH}")][-2:]
    assert trail == [("enterprise.appointment.declined", "handler"),
                     ("enterprise.appointment.ended", "handler")]


def test_an_agent_firm_is_authorised_and_either_side_ends_it(app, tech):
    flow = signed_in(app, ZHANG)
    page = flow.get(f"/account/enterprises/{TECH}?lang=en")
    r = send(flow, page, "/authorise", agent=AGENCY, matters="tax.declare", until="")
    assert "An authorisation of an agent needs an end date." in html(flow.follow(r))
    r = send(flow, page, "/authorise", agent=AGENCY, matters="tax.declare", until="3000-01-01")
    assert "Write dates as YYYY-MM-DD, in the years 2000 to 2999." in html(flow.follow(r))
    r = send(flow, page, "/authorise", agent=TECH, matters="", until="2099-12-31")
    assert "The agent must be another operating enterprise" in html(flow.follow(r))
    r = send(flow, page, "/authorise", agent=AGENCY, matters="tax.declare",
             until="2099-12-31")
    assert r.status_code == 303 and "The agent firm is authorised." in html(flow.follow(r))
    with app.app_context():
        given = Authorisation.query.one()
        assert (given.matters, given.granted_as) == (["tax.declare"], "legal_representative")
    agent = signed_in(app, WANG)
    page = agent.get(f"/account/enterprises/{AGENCY}?lang=en")
    assert "示例科技有限公司" in html(page)  # received
    r = send(agent, page, "/authorisations/")
    assert r.status_code == 303 and r.headers["Location"] == f"/account/enterprises/{AGENCY}"
    assert count(app, Authorisation, status="ended") == 1
    ended = events(app, action="enterprise.authorisation.ended")[-1]
    assert (ended.actor, ended.role, ended.target) == (
        f"user:{person_id(app, WANG)}", "legal_representative", f"enterprise:{TECH}")


def test_the_history_shows_the_enterprises_events(app, tech):
    flow = signed_in(app, ZHANG)
    page = flow.get(f"/account/enterprises/{TECH}?lang=en")
    assert "Enterprise registered by an operator" in html(page)
    assert flow.get("/account?lang=en").status_code == 200
    assert 'href="/account/enterprises"' in html(flow.get("/account"))


# --- the console and the admin API ----------------------------------------------------------

def test_the_console_searches_shows_and_changes_the_status_after_asking(app, tech):
    _uid, codes = make_staff(app, "13300133000", "user_admin")
    flow, page = console(app, "13300133000", codes, path="/admin/enterprises?lang=en")
    assert TECH in html(page) and AGENCY in html(page)
    page = flow.get("/admin/enterprises?q=示例科技")
    assert TECH in html(page) and AGENCY not in html(page)
    page = flow.get(f"/admin/enterprises/{TECH}")
    assert "示例科技有限公司" in html(page) and "Enterprise registered by an operator" in html(page)
    assert "market regulation" in html(page) and "00000001-9" in html(page)
    asked = flow.get(f"/admin/enterprises/{TECH}/status?status=revoked")
    assert asked.status_code == 200 and 'id="confirm-form"' in html(asked)
    r = flow.post(f"/admin/enterprises/{TECH}/status?status=revoked",
                  data={"csrf_token": send_token(asked)})
    assert r.status_code == 303 and count(app, Enterprise, status="revoked") == 0
    r = send(flow, asked, "/status", confirm="yes", reason="吊销营业执照")
    assert r.status_code == 303 and count(app, Enterprise, status="revoked") == 1
    changed = events(app, action="enterprise.status")[-1]
    assert (changed.role, changed.detail["reason"]) == ("user_admin", "吊销营业执照")
    assert flow.get("/admin/enterprises/911101080000000195").status_code == 404


def send_token(page):
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html(page)).group(1)


def test_the_console_checks_the_role(app, tech):
    _uid, codes = make_staff(app, "13300133000", "auditor")
    flow, page = console(app, "13300133000", codes, path=f"/admin/enterprises/{TECH}")
    assert page.status_code == 200 and "/status" not in html(page)
    assert flow.get(f"/admin/enterprises/{TECH}/status?status=revoked").status_code == 403
    _uid, codes = make_staff(app, "13200132000", "client_registrar")
    flow, page = console(app, "13200132000", codes, path="/admin/enterprises")
    assert page.status_code == 403


def test_the_admin_api_searches_shows_changes_the_status_and_lists_events(app, tech):
    _cid, token = client_token(app, "user_admin")
    api = Api(app, token)
    found = api.get("/enterprises?q=9111").get_json()
    assert [e["credit_code"] for e in found["items"]] == [TECH] and found["total"] == 1
    assert api.get("/enterprises?status=operating").get_json()["total"] == 2
    assert api.get("/enterprises?status=gone").status_code == 400
    detail = api.get(f"/enterprises/{TECH}").get_json()
    assert detail["name"] == "示例科技有限公司" and detail["appointments"] == []
    assert api.get("/enterprises/911101080000000195").status_code == 404
    r = api.post(f"/enterprises/{TECH}/status", json={"status": "closed"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"
    r = api.post(f"/enterprises/{TECH}/status", json={"status": "cancelled", "reason": "注销"})
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    listed = api.get(f"/enterprises/{TECH}/events").get_json()["events"]
    assert [e["action"] for e in listed] == ["enterprise.status", "enterprise.created"]
    assert listed[0]["actor"] == f"client:{_cid}" and listed[0]["role"] == "user_admin"
    _cid, auditor = client_token(app, "auditor", name="Auditor robot")
    assert Api(app, auditor).get(f"/enterprises/{TECH}").status_code == 200
    r = Api(app, auditor).post(f"/enterprises/{TECH}/status", json={"status": "operating"})
    assert r.status_code == 403 and events(app, action="admin.denied")[-1].actor == (
        f"client:{_cid}")
