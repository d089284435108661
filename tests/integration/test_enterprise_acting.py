"""Acting for an enterprise: the chooser of the login journey, what the tokens, userinfo and
introspection carry (exactly the granted matters), the whole cycle appoint → accept → act →
expire or end (frozen time), agent firms within and beyond their authorisation,
``authorization_details`` refused, and a cancelled enterprise acting for nobody."""

import json
import re

import pytest
from freezegun import freeze_time

from idp.accounts.models import User
from idp.enterprise import service
from idp.enterprise.models import Appointment
from idp.enterprise.models import Authorisation
from tests import factories as f
from tests.conftest import ISSUER
from tests.integration.test_admin_api import events
from tests.integration.test_admin_console import send
from tests.integration.test_token import exchange

TECH = "911101080000000194"     # 示例科技有限公司: 张三 represents it
AGENCY = "914403050000000359"   # 示例财税代理有限公司: an agent firm, 王五 represents it
TRADE = "91310115000000027G"    # 示例贸易有限公司: 李四 represents it
ZHANG, LI, WANG, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
OPERATOR = service.Actor.operator("cli:test")
TYPE = "cn_gov_enterprise_matters"
JULY_1 = 1814371200       # 2027-07-01 00:00 China time: the end of "until 2027-06-30"
END_OF_2099 = 4102416000  # 2100-01-01 00:00 China time


def person(phone):
    return User.query.filter_by(phone="+86" + phone).one()


@pytest.fixture
def people(app):
    """Four citizens, TECH (张三) and AGENCY (王五); an enterprise platform and a plain one."""
    with app.app_context():
        ids = {phone: f.user(phone=phone, name=name).id for phone, name in (
            (ZHANG, "张三"), (LI, "李四"), (WANG, "王五"), (ZHAO, "赵六"))}
        service.declare(TECH, "示例科技有限公司", person(ZHANG), actor=OPERATOR)
        service.declare(AGENCY, "示例财税代理有限公司", person(WANG), actor=OPERATOR)
        enterprise_rp = f.rp(name="企业平台", scope="openid profile enterprise")
        plain_rp = f.rp(name="Plain", scope="openid profile")
    return {"ids": ids, "rp": enterprise_rp, "plain": plain_rp}


def appoint(app, phone, role, code=TECH, matters=None, until=None):
    with app.app_context():
        return service.appoint(service.get(code), person(phone), role, actor=OPERATOR,
                               matters=matters, ends_at=service.day_end(until) if until
                               else None).id


def html(page):
    return page.get_data(as_text=True)


def choices_on(page):
    return re.findall(r'<button type="submit" name="act_as" value="([^"]+)"', html(page))


class Login:
    """One browser at the authorization endpoint; ``start`` runs the journey up to the
    chooser (or the end), ``choose`` answers it, ``tokens`` exchanges the code."""

    def __init__(self, app, rp, phone=ZHANG):
        self.app, self.rp, self.phone = app, rp, phone
        self.http = app.test_client()
        self.flow = f.Flow(self.http)

    def start(self, **overrides):
        self.verifier, challenge = f.pkce()
        overrides.setdefault("scope", "openid profile enterprise")
        self.params = f.authorize_params(self.rp[0], challenge, **overrides)
        page = self.flow.follow(self.flow.start(self.params))
        if 'autocomplete="current-password"' in html(page):
            page = self.flow.login(page, username=self.phone)
        return self.after(page)

    def after(self, page):
        if page.status_code == 200 and 'name="decision"' in html(page):
            page = self.flow.consent(page)
        return page

    def choose(self, page, value):
        return self.after(self.flow.follow(send(self.flow, page, "/act-as", act_as=value)))

    def tokens(self, page):
        assert page.status_code == 302, html(page)[:400]
        found = f.query(page.headers["Location"])
        assert "code" in found, found
        r = exchange(self.http, found["code"], self.verifier, auth=self.rp)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def acting(self, value, **overrides):
        page = self.start(**overrides)
        assert value in choices_on(page), choices_on(page)
        return self.tokens(self.choose(page, value))


def userinfo(app, token):
    return app.test_client().get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def introspect(app, rp, token):
    return app.test_client().post("/introspect", data={"token": token}, auth=rp).get_json()


def refresh(app, rp, token):
    return app.test_client().post("/token", auth=rp, data={"grant_type": "refresh_token",
                                                           "refresh_token": token})


def assert_stopped(app, rp, tokens):
    """The access token no longer works, introspection says inactive, refresh fails."""
    r = userinfo(app, tokens["access_token"])
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert introspect(app, rp, tokens["access_token"]) == {"active": False}
    assert introspect(app, rp, tokens["refresh_token"]) == {"active": False}
    r = refresh(app, rp, tokens["refresh_token"])
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_grant", "error_description": "The authority to act for the "
        "enterprise has ended (the enterprise, the appointment or the authorisation)."}


# --- who sees a chooser ---------------------------------------------------------------------

def test_platforms_that_do_not_ask_never_see_a_chooser(app, people):
    login = Login(app, people["plain"])
    page = login.start(scope="openid profile")
    assert choices_on(page) == []
    tokens = login.tokens(page)
    claims = f.claims_of(app, tokens["id_token"]).claims
    assert "enterprise" not in claims and "authorization_details" not in tokens


def test_a_person_without_an_enterprise_is_not_asked(app, people):
    login = Login(app, people["rp"], phone=LI)
    tokens = login.tokens(login.start())
    assert "authorization_details" not in tokens
    assert not {"enterprise", "act"} & set(f.claims_of(app, tokens["id_token"]).claims)
    assert not {"enterprise", "act"} & set(userinfo(app, tokens["access_token"]).get_json())


def test_the_chooser_offers_oneself_and_each_enterprise(app, people):
    appoint(app, ZHANG, "handler", code=AGENCY, matters=("tax.declare",))
    page = Login(app, people["rp"]).start()
    assert page.status_code == 200
    assert choices_on(page) == ["self", TECH, AGENCY]  # the form contract: one button each
    assert "示例科技有限公司" in html(page) and "tax.declare" in html(page)
    with app.app_context():
        assert [e.action for e in events(app, action="enterprise.acted")] == []


# --- what the tokens carry ------------------------------------------------------------------

def test_acting_for_an_enterprise_reaches_every_token_and_answer(app, people):
    login = Login(app, people["rp"])
    tokens = login.acting(TECH)
    granted = [{"type": TYPE, "credit_code": TECH, "role": "legal_representative",
                "matters": ["*"]}]
    assert tokens["authorization_details"] == granted
    id_token = f.claims_of(app, tokens["id_token"]).claims
    sub = id_token["sub"]
    assert id_token["enterprise"] == {
        "credit_code": TECH, "name": "示例科技有限公司", "entity_type": "enterprise",
        "status": "operating", "role": "legal_representative"}
    assert id_token["act"] == {"sub": sub}  # the acting person; sub stays the person
    access = f.claims_of(app, tokens["access_token"]).claims
    assert access["sub"] == sub and access["act"] == {"sub": sub}
    assert access["authorization_details"] == granted and "enterprise" not in access
    info = userinfo(app, tokens["access_token"]).get_json()
    assert info["sub"] == sub and info["enterprise"] == id_token["enterprise"]
    advertised = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert set(id_token) | set(info) <= set(advertised["claims_supported"])
    assert info["authorization_details"] == granted and info["act"] == {"sub": sub}
    found = introspect(app, people["rp"], tokens["access_token"])
    assert found["active"] is True and found["authorization_details"] == granted
    assert found["act"] == {"sub": sub}
    found = introspect(app, people["rp"], tokens["refresh_token"])
    assert found["active"] is True and found["authorization_details"] == granted
    renewed = refresh(app, people["rp"], tokens["refresh_token"]).get_json()
    assert renewed["authorization_details"] == granted
    assert f.claims_of(app, renewed["id_token"]).claims["enterprise"]["credit_code"] == TECH
    assert f.claims_of(app, renewed["access_token"]).claims["authorization_details"] == granted
    acted = events(app, action="enterprise.acted")
    assert [(e.user_id, e.role, e.target, e.detail) for e in acted] == [
        (people["ids"][ZHANG], "legal_representative", f"enterprise:{TECH}",
         {"client_id": people["rp"][0], "how": "chosen"})]


def test_acting_for_oneself_carries_nothing_of_an_enterprise(app, people):
    tokens = Login(app, people["rp"]).acting("self")
    assert "authorization_details" not in tokens
    assert "enterprise" not in f.claims_of(app, tokens["id_token"]).claims
    assert "act" not in f.claims_of(app, tokens["access_token"]).claims


def test_the_policy_asks_without_the_scope_and_consent_says_so(app, people):
    with app.app_context():
        rp = f.rp(name="Policy", scope="openid profile", enterprise_allowed=True)
    login = Login(app, rp)
    page = login.flow.follow(login.flow.start(f.authorize_params(
        rp[0], f.pkce()[1], scope="openid profile")))
    page = login.flow.login(page, username=ZHANG)
    assert choices_on(page) == ["self", TECH]
    page = login.flow.follow(send(login.flow, page, "/act-as", act_as=TECH))
    assert "Know which enterprise you act for" in html(login.flow.get(
        page.request.path + "?lang=en"))


# --- remembering, switching, prompt=none ---------------------------------------------------------

def test_the_choice_is_remembered_and_switched_without_a_password(app, people):
    login = Login(app, people["rp"])
    login.acting(TECH)
    again = login.start(prompt="none")  # the same session, the same platform: no page
    assert f.claims_of(app, login.tokens(again)["id_token"]).claims["enterprise"][
        "credit_code"] == TECH
    page = login.start(prompt="select_account")  # "switch": choose again
    assert 'name="choice" value="continue"' in html(page)
    page = login.flow.follow(send(login.flow, page, "/select", choice="continue"))
    assert 'autocomplete="current-password"' not in html(page)
    assert choices_on(page) == ["self", TECH]
    tokens = login.tokens(login.choose(page, "self"))
    assert "enterprise" not in f.claims_of(app, tokens["id_token"]).claims
    tokens = login.tokens(login.start(prompt="none"))  # remembered: oneself now
    assert "enterprise" not in f.claims_of(app, tokens["id_token"]).claims


def test_prompt_none_with_a_choice_to_make_is_interaction_required(app, people):
    login = Login(app, people["plain"])
    login.tokens(login.start(scope="openid profile"))  # a session, no choice yet
    login.rp = people["rp"]
    page = login.start(prompt="none")
    assert page.status_code == 302
    answer = f.query(page.headers["Location"])
    assert answer["error"] == "interaction_required" and answer["iss"] == ISSUER
    assert answer["state"] == login.params["state"]


def test_one_possible_choice_is_made_without_a_page(app, people):
    details = json.dumps([{"type": TYPE, "matters": ["tax.declare"]}])
    login = Login(app, people["rp"])
    page = login.start(authorization_details=details)  # matters: only an enterprise can
    tokens = login.tokens(page)
    assert tokens["authorization_details"] == [{
        "type": TYPE, "credit_code": TECH, "role": "legal_representative",
        "matters": ["tax.declare"]}]  # exactly what was asked, not all it may do
    assert events(app, action="enterprise.acted")[-1].detail["how"] == "only_choice"
    page = login.start(authorization_details=details, prompt="select_account")
    page = login.flow.follow(send(login.flow, page, "/select", choice="continue"))
    assert choices_on(page) == [TECH]  # the platform asked the person to choose


# --- the whole cycle, in frozen time ------------------------------------------------------------

def test_appoint_accept_act_and_expire(app, people):
    with freeze_time("2027-06-30 15:50:00"):  # 23:50 China time
        rep = Login(app, people["rp"])
        page = rep.flow.login(rep.flow.follow(rep.flow.get("/account/enterprises")),
                              username=ZHANG)
        page = rep.flow.get(f"/account/enterprises/{TECH}?lang=en")
        r = send(rep.flow, page, "/appoint", phone=LI, role="handler",
                 matters="tax.declare, tax.pay", until="2027-06-30")
        assert r.status_code == 303 and r.headers["Location"] == f"/account/enterprises/{TECH}"
        assert "The invitation was sent" in html(rep.flow.follow(r))
        handler = Login(app, people["rp"], phone=LI)
        page = handler.start()
        assert choices_on(page) == []  # an invitation is not yet an authority
        handler.tokens(page)
        page = handler.flow.get("/account/enterprises?lang=en")
        assert "示例科技有限公司 invites you as Handler" in html(page)
        r = send(handler.flow, page, "/invitations/", answer="accept")
        assert r.status_code == 303 and "You accepted" in html(handler.flow.follow(r))
        page = handler.flow.get("/account/enterprises?lang=en")
        assert "tax.declare, tax.pay" in html(page) and "2027-06-30" in html(page)
        page = handler.start(prompt="select_account")
        page = handler.flow.follow(send(handler.flow, page, "/select", choice="continue"))
        tokens = handler.tokens(handler.choose(page, TECH))
        granted = [{"type": TYPE, "credit_code": TECH, "role": "handler",
                    "matters": ["tax.declare", "tax.pay"], "valid_until": JULY_1}]
        assert tokens["authorization_details"] == granted  # until 2027-07-01 00:00 +08:00
        assert userinfo(app, tokens["access_token"]).status_code == 200
        assert introspect(app, people["rp"], tokens["access_token"])["active"] is True
    with freeze_time("2027-06-30 16:00:01"):  # the appointment's last day is over
        assert f.claims_of(app, tokens["access_token"]).claims["exp"] > JULY_1 + 1
        assert_stopped(app, people["rp"], tokens)
        page = handler.start(prompt="login")
        assert choices_on(page) == []  # nothing to choose any more
    trail = [(e.action, e.role) for e in events(app, target=f"enterprise:{TECH}")]
    assert trail == [("enterprise.created", "operator"),
                     ("enterprise.appointed", "legal_representative"),
                     ("enterprise.appointment.accepted", "handler"),
                     ("enterprise.acted", "handler")]


def test_ending_an_appointment_stops_its_tokens_at_the_next_request(app, people):
    appoint(app, LI, "handler", matters=("tax.declare",))
    tokens = Login(app, people["rp"], phone=LI).acting(TECH)
    assert tokens["authorization_details"][0]["matters"] == ["tax.declare"]
    rep = Login(app, people["rp"])
    rep.flow.login(rep.flow.follow(rep.flow.get("/account/enterprises")), username=ZHANG)
    page = rep.flow.get(f"/account/enterprises/{TECH}")
    r = send(rep.flow, page, "/end")
    assert r.status_code == 303
    assert_stopped(app, people["rp"], tokens)
    ended = events(app, action="enterprise.appointment.ended")[-1]
    assert (ended.actor, ended.role, ended.user_id) == (
        f"user:{people['ids'][ZHANG]}", "legal_representative", people["ids"][LI])


def test_removing_an_administrator_ends_what_they_granted(app, people):
    admin_id = appoint(app, ZHAO, "administrator")
    with app.app_context():
        tech = service.get(TECH)
        manager = service.manager(person(ZHAO), tech)
        assert manager.role == "administrator"
        granted = service.appoint(tech, person(LI), "handler", actor=manager).id
        given = service.authorise(tech, AGENCY, actor=manager,
                                  ends_at=service.day_end("2099-12-31")).id
        kept = service.appoint(tech, person(WANG), "handler", actor=OPERATOR).id
        service.end_appointment(db_get(Appointment, admin_id),
                                actor=service.manager(person(ZHANG), tech))
        assert db_get(Appointment, granted).status == "ended"
        assert db_get(Authorisation, given).status == "ended"
        assert db_get(Appointment, kept).status == "active"


def db_get(model, row_id):
    from idp.extensions import db

    return db.session.get(model, row_id)


def test_a_cancelled_enterprise_acts_for_nobody(app, people):
    tokens = Login(app, people["rp"]).acting(TECH)
    r = app.test_cli_runner().invoke(args=["enterprises", "status", "--credit-code", TECH,
                                           "--set", "cancelled", "--reason", "注销登记"])
    assert r.exit_code == 0 and r.output == f"{TECH}: cancelled\n"
    assert_stopped(app, people["rp"], tokens)
    login = Login(app, people["rp"])
    page = login.start()
    assert choices_on(page) == []  # only oneself is left: no chooser
    assert "enterprise" not in f.claims_of(app, login.tokens(page)["id_token"]).claims
    changed = events(app, action="enterprise.status")[-1]
    assert (changed.actor.startswith("cli:"), changed.role, changed.detail) == (
        True, "operator", {"before": {"status": "operating"},
                           "after": {"status": "cancelled"}, "reason": "注销登记"})


def test_a_platform_no_longer_registered_for_enterprises_refreshes_no_acting_token(app,
                                                                                   people):
    """An operator who takes the enterprise scope away from a platform stops its tokens that
    act for an enterprise from being refreshed (they would still carry ``act`` and the
    matters)."""
    from clients import service as registry

    tokens = Login(app, people["rp"]).acting(TECH)
    with app.app_context():
        registry.update_client(people["rp"][0], {"scope": "openid profile"}, actor="admin:1")
    r = refresh(app, people["rp"], tokens["refresh_token"])
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_grant", "error_description": "This client is no longer registered "
        "for enterprise identities: a token acting for an enterprise cannot be refreshed."}


def test_a_code_issued_before_the_authority_ended_gets_no_tokens(app, people):
    """The enterprise is cancelled between the code and its exchange: no ID token (which
    platforms verify offline, never asking again) says the person acts for it."""
    login = Login(app, people["rp"])
    page = login.choose(login.start(), TECH)
    assert page.status_code == 302
    with app.app_context():
        service.set_status(service.get(TECH), "cancelled", actor=OPERATOR)
        from idp.extensions import db
        db.session.commit()
    r = exchange(login.http, f.query(page.headers["Location"])["code"], login.verifier,
                 auth=login.rp)
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_grant", "error_description": "The authority to act for the "
        "enterprise has ended (the enterprise, the appointment or the authorisation)."}


# --- agent firms ----------------------------------------------------------------------------------

@pytest.fixture
def agency(app, people):
    """TECH authorises AGENCY for tax.declare and tax.pay; 李四 handles tax.declare and payroll
    at AGENCY."""
    with app.app_context():
        authorisation = service.authorise(service.get(TECH), AGENCY, actor=OPERATOR,
                                          matters=("tax.declare", "tax.pay"),
                                          ends_at=service.day_end("2099-12-31")).id
    appoint(app, LI, "handler", code=AGENCY, matters=("payroll", "tax.declare"))
    return authorisation


def test_an_agent_firms_handler_acts_for_its_client_within_both_scopes(app, people, agency):
    login = Login(app, people["rp"], phone=LI)
    page = login.start()
    assert choices_on(page) == ["self", AGENCY, TECH]
    assert "through 示例财税代理有限公司" in html(login.flow.get(page.request.path + "?lang=en"))
    tokens = login.tokens(login.choose(page, TECH))
    assert tokens["authorization_details"] == [{
        "type": TYPE, "credit_code": TECH, "role": "agent", "matters": ["tax.declare"],
        "valid_until": END_OF_2099}]
    id_token = f.claims_of(app, tokens["id_token"]).claims
    assert id_token["act"] == {"sub": id_token["sub"], "act": {"sub": AGENCY}}
    assert id_token["enterprise"]["agent"] == {
        "credit_code": AGENCY, "name": "示例财税代理有限公司", "role": "handler"}
    assert f.claims_of(app, tokens["access_token"]).claims["act"] == id_token["act"]


def test_an_agent_cannot_go_beyond_the_authorisation(app, people, agency):
    beyond = json.dumps([{"type": TYPE, "matters": ["tax.pay"], "credit_code": TECH}])
    login = Login(app, people["rp"], phone=LI)
    page = login.start(authorization_details=beyond)  # tax.pay: not the handler's matter
    answer = f.query(page.headers["Location"])
    assert answer["error"] == "invalid_authorization_details"
    assert answer["state"] == login.params["state"] and answer["iss"] == ISSUER
    payroll = json.dumps([{"type": TYPE, "matters": ["payroll"], "credit_code": TECH}])
    assert f.query(login.start(authorization_details=payroll).headers["Location"])[
        "error"] == "invalid_authorization_details"  # not in the authorisation
    within = json.dumps([{"type": TYPE, "matters": ["tax.declare"], "credit_code": TECH}])
    tokens = login.tokens(login.start(authorization_details=within))
    assert tokens["authorization_details"][0]["matters"] == ["tax.declare"]
    with app.app_context():
        wang = person(WANG)
        service.end_authorisation(db_get(Authorisation, agency),
                                  actor=service.Actor(f"user:{wang.id}", None, wang))
    assert_stopped(app, people["rp"], tokens)
    ended = events(app, action="enterprise.authorisation.ended")[-1]
    assert (ended.actor, ended.role) == (f"user:{people['ids'][WANG]}", "legal_representative")


# --- authorization_details refused ------------------------------------------------------------

@pytest.mark.parametrize("value, error, description", [
    ("not json", "invalid_request", "'authorization_details' is not JSON."),
    ('{"type": "x"}', "invalid_request",
     "'authorization_details' must be a JSON array of objects, each with a string 'type'."),
    ("[]", "invalid_request",
     "'authorization_details' must be a JSON array of objects, each with a string 'type'."),
    ('[{"type": "payment_initiation"}]', "invalid_authorization_details",
     "Unknown authorization details type 'payment_initiation' (this server knows "
     "cn_gov_enterprise_matters)."),
    ('[{"type": "类型"}]', "invalid_authorization_details",
     "Unknown authorization details type '??' (this server knows cn_gov_enterprise_matters)."),
    (f'[{{"type": "{TYPE}", "matters": ["a"], "locations": ["x"]}}]',
     "invalid_authorization_details", f"Unknown member of {TYPE}: locations."),
    (f'[{{"type": "{TYPE}"}}]', "invalid_authorization_details",
     f"{TYPE} needs 'matters': a non-empty array of matter codes."),
    (f'[{{"type": "{TYPE}", "matters": ["tax declare"]}}]', "invalid_authorization_details",
     "'matters': 'tax declare' is not a matter code (letters, digits and . _ : -, at most 100 "
     "characters)."),
    (f'[{{"type": "{TYPE}", "matters": ["a"], "credit_code": "91110108000000019X"}}]',
     "invalid_authorization_details", "'credit_code' is not valid (check_character)."),
    (f'[{{"type": "{TYPE}", "matters": ["a"], "credit_code": "{TECH}"}}, '
     f'{{"type": "{TYPE}", "matters": ["b"], "credit_code": "{TRADE}"}}]',
     "invalid_authorization_details",
     "One login acts for one enterprise: the credit codes differ."),
])
def test_malformed_or_unknown_authorization_details_are_refused(app, people, value, error,
                                                                  description):
    params = f.authorize_params(people["rp"][0], f.pkce()[1], authorization_details=value)
    r = app.test_client().get("/authorize", query_string=params)
    assert r.status_code == 302, html(r)[:300]
    assert f.query(r.headers["Location"]) == {
        "error": error, "error_description": description, "state": params["state"],
        "iss": ISSUER}


def test_a_platform_not_registered_for_enterprises_may_not_send_them(app, people):
    details = json.dumps([{"type": TYPE, "matters": ["tax.declare"]}])
    params = f.authorize_params(people["plain"][0], f.pkce()[1], authorization_details=details)
    answer = f.query(app.test_client().get("/authorize", query_string=params)
                     .headers["Location"])
    assert (answer["error"], answer["error_description"]) == (
        "invalid_authorization_details", "This client is not registered for enterprise "
        "identities (the enterprise scope).")


def test_asking_more_than_was_granted_is_refused_after_the_login(app, people):
    appoint(app, LI, "handler", matters=("tax.declare",))
    login = Login(app, people["rp"], phone=LI)
    page = login.start(authorization_details=json.dumps(
        [{"type": TYPE, "matters": ["tax.declare", "tax.pay"]}]))
    answer = f.query(page.headers["Location"])
    assert answer == {"error": "invalid_authorization_details",
                      "error_description": "The person may not act for an enterprise as the "
                      "authorization_details ask (matters, credit_code).",
                      "state": login.params["state"], "iss": ISSUER}
    everything = json.dumps([{"type": TYPE, "matters": ["*"], "credit_code": TECH}])
    assert f.query(Login(app, people["rp"]).start(authorization_details=everything)
                   .headers["Location"])["code"]  # all matters: what the representative has


def test_discovery_advertises_the_type_the_scope_and_the_claims(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["authorization_details_types_supported"] == [TYPE]
    assert "enterprise" in meta["scopes_supported"]
    assert {"enterprise", "act", "authorization_details"} <= set(meta["claims_supported"])
