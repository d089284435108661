"""Real-name binding end to end: the citizen's identity page against the development registry
over real HTTP, levels of assurance in relying-party flows, one person one account, data
protection (sealed at rest, masked, scope-gated release), the service counter, audit."""

import logging
import re
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from freezegun import freeze_time

from idp.accounts.models import User
from idp.admin import roles
from idp.audit.models import AuditEvent
from idp.extensions import db
from idp.realname.models import IdentityBinding
from mfa import totp
from tests import factories as f
from tests.conftest import make_app
from tests.integration.test_mfa_login import submit

pytest_plugins = ["tests.realname_fixtures"]

ZHANG = {"name": "张三", "doc_type": "resident_id", "number": "11010119800101031X"}
LI = {"name": "李四", "doc_type": "resident_id", "number": "310101198502150422"}
ACR = "urn:cn:gov:idp:loa:{}"


def realname_app(database_url, registry, **overrides):
    return make_app(database_url, REALNAME_REGISTRY_URL=registry.url,
                    REALNAME_REGISTRY_SECRET=registry.secret, REALNAME_FACE_URL=registry.url,
                    REALNAME_FACE_SECRET=registry.secret, REALNAME_RETRIES=0, **overrides)


@pytest.fixture
def registry(start_dev_registry):
    return start_dev_registry(face_outcome="pass")


@pytest.fixture
def app(database_url, registry):
    return realname_app(database_url, registry)


def sign_in(app, phone="13800138000"):
    """A browser signed in to its account pages."""
    flow = f.Flow(app.test_client())
    page = flow.follow(flow.get("/account/identity"))
    page = flow.login(page, username=phone)
    assert page.status_code == 200, page.status_code
    return flow, page


def bind(flow, page, person=ZHANG, agree="yes", nationality=""):
    action, fields = f.form_of(page.get_data(as_text=True))
    fields.update(doc_type=person["doc_type"], name=person["name"], number=person["number"],
                  nationality=nationality)
    if agree:
        fields["agree"] = agree
    return flow.post(action, data=fields)


def face(flow, page):
    """Press "start the face check"; the development service (outcome pass) sends the browser
    straight back; follow it home."""
    html = page.get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+/face)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    started = flow.post(action, data=fields)
    assert started.status_code == 303
    back = requests.get(started.headers["Location"], allow_redirects=False, timeout=5)
    assert back.status_code in (302, 303)
    target = urlsplit(back.headers["Location"])
    return flow.follow(flow.get(f"{target.path}?{target.query}"))


def enrol(app, phone):
    """An authenticator app confirmed (in the past, so today's codes are fresh); its TOTP."""
    with app.app_context(), freeze_time("2026-01-01 07:00:00"):
        user = User.query.filter_by(phone=phone).one()
        factor, _uri, _svg, secret_text = totp.begin_enrolment(user, "手机")
        app_totp = pyotp.TOTP(secret_text.replace(" ", ""))
        assert totp.confirm(factor, app_totp.now())
    return app_totp


def setup_users(app, *phones):
    with app.app_context():
        for phone in phones or ("13800138000",):
            f.user(phone=phone)


def level(app, phone="+8613800138000"):
    with app.app_context():
        return User.query.filter_by(phone=phone).one().loa


def identity_events(app):
    with app.app_context():
        return [(e.outcome, e.detail) for e in
                AuditEvent.query.filter_by(action="identity.verify").order_by(AuditEvent.id)]


# --- binding on the account pages ---------------------------------------------------------

def test_binding_reaches_level_2_masked_and_audited(app):
    setup_users(app)
    flow, page = sign_in(app)
    assert 'id="identity-level"' in page.get_data(as_text=True)
    done = flow.follow(bind(flow, page))
    html = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "110***********031X" in html and ZHANG["number"] not in html
    assert "*三" in html
    assert level(app) == 2
    outcome, detail = identity_events(app)[-1]
    assert outcome == "success"
    assert detail["source"] == "registry" and detail["level_before"] == 1
    assert detail["level_after"] == 2 and detail["doc_type"] == "resident_id"
    assert ZHANG["number"] not in str(detail) and "张三" not in str(detail)


def test_precise_document_errors_and_agreement(app):
    setup_users(app)
    flow, page = sign_in(app)
    wrong = bind(flow, page, {**ZHANG, "number": "110105194912310021"})
    assert wrong.status_code == 400
    assert "check character" in wrong.get_data(as_text=True).lower() or \
        "校验" in wrong.get_data(as_text=True)
    bad_date = bind(flow, page, {**ZHANG, "number": "110101202302300010"})
    assert "2023-02-30" in bad_date.get_data(as_text=True)
    no_agree = bind(flow, page, agree=None)
    assert no_agree.status_code == 400
    assert level(app) == 1
    assert identity_events(app) == []  # refused before any check


def test_mismatch_and_not_found_leave_the_level(app):
    setup_users(app)
    flow, page = sign_in(app)
    assert bind(flow, page, {**ZHANG, "name": "张四"}).status_code == 400
    unknown = {**ZHANG, "number": "110101199001010015"}
    response = bind(flow, page, unknown)
    assert response.status_code == 400
    assert level(app) == 1
    assert [d["reason"] for _, d in identity_events(app)] == ["mismatch", "not_found"]
    with app.app_context():
        assert IdentityBinding.query.count() == 0


def _message(response):
    """The page's error message (without the form, which echoes what was typed)."""
    found = re.search(r'id="identity-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert found, response.get_data(as_text=True)[:800]
    return found.group(1).strip()


def test_only_a_registry_match_tells_that_a_document_is_bound(app):
    """A signed-in citizen learns nothing about a number it cannot name the holder of: a
    wrong name for a bound number, a wrong name for an unbound one and an unknown number all
    read the same; "already bound" comes only after the registry matched name and number."""
    setup_users(app, "13800138000", "13900139000")
    holder, page = sign_in(app)
    holder.follow(bind(holder, page))
    prober, page = sign_in(app, "13900139000")
    answers = [bind(prober, page, person) for person in (
        {**ZHANG, "name": "王五"},  # bound number, wrong name
        {**LI, "name": "王五"},  # unbound number, wrong name
        {**ZHANG, "number": "110101199001010015"},  # a number the registry does not know
    )]
    assert [r.status_code for r in answers] == [400, 400, 400]
    assert len({_message(r) for r in answers}) == 1
    bound = bind(prober, page)  # the holder's own name and number
    assert bound.status_code == 400 and _message(bound) != _message(answers[0])
    assert "another account" in _message(bound) or "其他账号" in _message(bound)
    assert [d["reason"] for _o, d in identity_events(app)[1:]] == [
        "mismatch", "mismatch", "not_found", "already_bound"]
    assert level(app, "+8613900139000") == 1
    # each answered attempt counted: one of the day's five is left
    assert bind(prober, page, {**LI, "name": "王五"}).status_code == 400
    assert bind(prober, page, LI).status_code == 429


def test_registry_down_changes_nothing(database_url):
    app = make_app(database_url, REALNAME_REGISTRY_URL="http://127.0.0.1:9/registry",
                   REALNAME_REGISTRY_SECRET="x" * 40, REALNAME_RETRIES=1)
    setup_users(app)
    flow, page = sign_in(app)
    response = bind(flow, page)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "unavailable" in html or "不可用" in html
    assert level(app) == 1
    with app.app_context():
        assert IdentityBinding.query.count() == 0
    assert identity_events(app)[-1][0] == "error"


def test_attempts_are_limited_per_account(database_url, registry):
    app = realname_app(database_url, registry, REALNAME_ATTEMPTS_PER_DAY=2)
    setup_users(app)
    flow, page = sign_in(app)
    for _ in range(2):
        assert bind(flow, page, {**ZHANG, "name": "张四"}).status_code == 400
    assert bind(flow, page).status_code == 429
    assert level(app) == 1


def test_one_document_one_account(app):
    setup_users(app, "13800138000", "13900139000")
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    other, page = sign_in(app, "13900139000")
    response = bind(other, page)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "another account" in html or "其他账号" in html or "另一个账号" in html
    assert "138" not in re.sub(r"<[^>]+>", "", html).split("appeal")[0][-40:]
    assert level(app, "+8613900139000") == 1


def test_face_check_reaches_level_3(app):
    setup_users(app)
    flow, page = sign_in(app)
    page = flow.follow(bind(flow, page))
    page = face(flow, page)
    assert page.status_code == 200
    assert level(app) == 3
    assert identity_events(app)[-1][1]["source"] == "face"


def test_failed_face_check(database_url, start_dev_registry):
    registry = start_dev_registry(face_outcome="fail")
    app = realname_app(database_url, registry)
    setup_users(app)
    flow, page = sign_in(app)
    page = flow.follow(bind(flow, page))
    response = face(flow, page)
    assert response.status_code == 400
    assert level(app) == 2


def test_a_face_result_for_another_account_is_refused(app):
    setup_users(app)
    flow, _page = sign_in(app)
    response = flow.get("/account/identity/face/return?face_session=made-up")
    assert response.status_code == 400
    assert level(app) == 1


# --- protection at rest and in logs -------------------------------------------------------

def test_identity_data_is_sealed_at_rest_and_never_logged(tmp_path, registry, caplog):
    path = tmp_path / "idp.db"
    app = realname_app(None, registry, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    setup_users(app)
    caplog.set_level(logging.DEBUG)
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    assert level(app) == 2
    with app.app_context():
        db.engine.dispose()
    raw = path.read_bytes()
    assert ZHANG["number"].encode() not in raw
    assert ZHANG["number"][:-1].encode() not in raw
    with app.app_context():
        sealed = IdentityBinding.query.one().sealed
    assert "张三".encode() not in sealed
    assert ZHANG["number"] not in caplog.text and ZHANG["number"][:14] not in caplog.text


def test_reencrypt_moves_bindings_to_the_new_key(database_url, registry, tmp_path):
    old = "t1:dGVzdGluZy1waWkta2V5LW9uZS1vbmUtb25lLW9uZTE="
    new = "n1:bmV3LXBpaS1rZXktbmV3LXBpaS1rZXktbmV3LXBpaTM="
    database_url = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    app = realname_app(database_url, registry, PII_KEYS=old)
    setup_users(app)
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    rotated = realname_app(database_url, registry, fresh=False, PII_KEYS=f"{new},{old}")
    result = rotated.test_cli_runner().invoke(args=["realname", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "resealed 1 of 1" in result.output
    only_new = realname_app(database_url, registry, fresh=False, PII_KEYS=new)
    with only_new.app_context():
        from idp.realname import service

        binding = IdentityBinding.query.one()
        assert binding.key_id == "n1"
        assert service.identity_of(binding)["number"] == ZHANG["number"]


# --- levels of assurance in a relying party's flow ----------------------------------------

def rp_flow(app, scope="openid profile", **kw):
    with app.app_context():
        client_id, secret = f.rp(scope=scope, **{k: v for k, v in kw.items()
                                                 if k in ("min_loa",)})
    return client_id, secret


def start_login(app, client_id, **params):
    flow = f.Flow(app.test_client())
    verifier, challenge = f.pkce()
    auth = f.authorize_params(client_id, challenge, **params)
    page = flow.login(flow.follow(flow.start(auth)))
    return flow, page, verifier, auth


def exchange(flow, client_id, secret, verifier, location):
    code = f.query(location)["code"]
    response = flow.http.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier}, auth=(client_id, secret))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_acr_values_take_the_citizen_through_verification(app):
    setup_users(app)
    client_id, secret = rp_flow(app)
    flow, page, verifier, _ = start_login(app, client_id, acr_values=ACR.format(2))
    html = page.get_data(as_text=True)
    assert 'id="required-level"' in html
    page = flow.follow(bind(flow, page))
    if page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True):
        page = flow.consent(page)
    assert page.status_code == 302
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    claims = f.claims_of(app, tokens["id_token"]).claims
    assert claims["acr"] == ACR.format(2)
    assert claims["loa"] == 2 and claims["real_name_verified"] is True
    assert isinstance(claims["verified_at"], int)
    info = flow.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["name"] == "张三" and info["birthdate"] == "1980-01-01"
    assert info["gender"] == "male" and "id_number" not in info


def test_a_platform_minimum_level_and_level_3_with_a_second_factor(app):
    setup_users(app)
    app_totp = enrol(app, "+8613800138000")
    client_id, secret = rp_flow(app, min_loa=3)
    flow = f.Flow(app.test_client())
    verifier, challenge = f.pkce()
    page = flow.login(flow.follow(flow.start(f.authorize_params(client_id, challenge))))
    # the second factor first (enrolled factors are always used), then the identity steps
    page = submit(flow, page, "/mfa/totp", code=app_totp.now())
    assert 'id="required-level"' in page.get_data(as_text=True)
    page = flow.follow(bind(flow, page))
    page = face(flow, page)
    if page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True):
        page = flow.consent(page)
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    claims = f.claims_of(app, tokens["id_token"]).claims
    assert claims["acr"] == ACR.format(3) and claims["loa"] == 3
    assert "mfa" in claims["amr"]


def test_declining_gives_unmet_authentication_requirements(app):
    setup_users(app)
    client_id, _ = rp_flow(app)
    flow, page, _, auth = start_login(app, client_id, acr_values=ACR.format(3))
    html = page.get_data(as_text=True)
    action = re.search(r'action="([^"]+/identity/cancel)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    response = flow.follow(flow.post(action, data=fields))
    assert response.status_code == 302
    answer = f.query(response.headers["Location"])
    assert answer["error"] == "unmet_authentication_requirements"
    assert answer["state"] == auth["state"]


def test_prompt_none_below_the_level_is_interaction_required(app):
    setup_users(app)
    client_id, secret = rp_flow(app)
    flow, page, verifier, _ = start_login(app, client_id)
    page = flow.consent(page)
    assert page.status_code == 302
    verifier, challenge = f.pkce()
    silent = flow.start(f.authorize_params(client_id, challenge, prompt="none",
                                           acr_values=ACR.format(2)))
    assert f.query(silent.headers["Location"])["error"] == "interaction_required"


def test_a_level_2_account_meets_level_2_silently(app):
    setup_users(app)
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    client_id, secret = rp_flow(app)
    verifier, challenge = f.pkce()
    params = f.authorize_params(client_id, challenge, acr_values=ACR.format(2))
    page = flow.follow(flow.start(params))
    page = flow.consent(page)
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    assert f.claims_of(app, tokens["id_token"]).claims["acr"] == ACR.format(2)


# --- scope-gated release --------------------------------------------------------------------

def test_the_document_number_needs_its_own_scope_and_consent(app):
    setup_users(app)
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    plain_id, _ = rp_flow(app, name="Plain")
    verifier, challenge = f.pkce()
    refused = flow.start(f.authorize_params(plain_id, challenge, scope="openid id_number"))
    assert f.query(refused.headers["Location"])["error"] == "invalid_scope"
    with app.app_context():
        client_id, secret = f.rp(name="Tax", scope="openid profile id_number")
    page = flow.follow(flow.start(f.authorize_params(client_id, challenge,
                                                     scope="openid id_number")))
    html = page.get_data(as_text=True)
    assert 'name="decision"' in html
    assert "document type and number" in html or "证件类型和号码" in html
    page = flow.consent(page)
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    info = flow.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["id_number"] == ZHANG["number"]
    assert info["id_document_type"] == "resident_id"
    assert "name" not in info  # profile was not asked for
    assert "id_number" not in f.claims_of(app, tokens["id_token"]).claims


def test_unverified_accounts_release_no_document(app):
    setup_users(app)
    with app.app_context():
        client_id, secret = f.rp(name="Tax", scope="openid profile id_number")
    flow, page, verifier, _ = start_login(app, client_id, scope="openid profile id_number")
    page = flow.consent(page)
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    info = flow.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert "id_number" not in info and info["loa"] == 1
    assert info["real_name_verified"] is False and info["name"] == "张三"


# --- service counter ----------------------------------------------------------------------

def clerk_session(app, with_second_factor=True):
    with app.app_context():
        clerk = f.user(phone="13700137000", name="柜员")
        roles.grant(clerk, "counter_clerk", actor="test")
    app_totp = enrol(app, "+8613700137000") if with_second_factor else None
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.get("/counter")), username="13700137000")
    if with_second_factor:
        page = submit(flow, page, "/mfa/totp", code=app_totp.now())
    return flow, page


def test_counter_clerk_verifies_in_person(app):
    setup_users(app)
    flow, page = clerk_session(app)
    assert page.status_code == 200
    page = flow.get("/counter?phone=13800138000")
    assert page.status_code == 200
    with app.app_context():
        lookup = AuditEvent.query.filter_by(action="counter.lookup").one()
        assert lookup.role == "counter_clerk" and lookup.target.startswith("user:")
    action, fields = f.form_of(page.get_data(as_text=True))
    fields.update(doc_type="resident_id", name=LI["name"], number=LI["number"])
    missing = flow.post(action, data=fields)
    assert missing.status_code == 400  # the clerk must confirm the check
    done = flow.follow(flow.post(action, data={**fields, "checked": "yes"}))
    assert 'id="counter-done"' in done.get_data(as_text=True)
    assert level(app) == 4
    with app.app_context():
        event = AuditEvent.query.filter_by(action="identity.verify").order_by(
            AuditEvent.id.desc()).first()
        clerk = User.query.filter_by(phone="+8613700137000").one()
    assert event.actor == f"user:{clerk.id}" and event.role == "counter_clerk"
    assert event.detail["level_after"] == 4 and event.detail["source"] == "counter"


def test_the_counter_needs_the_role_and_two_factors(app):
    setup_users(app)
    flow, page = clerk_session(app, with_second_factor=False)
    assert page.status_code == 403
    citizen = f.Flow(app.test_client())
    page = citizen.login(citizen.follow(citizen.get("/counter")))
    assert page.status_code == 403


# --- command line -----------------------------------------------------------------------

def test_users_create_declares_a_document(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--phone", "13600136000", "--password",
                                 f.PASSWORD, "--name", "王五", "--id-number",
                                 "440305199005200134", "--json"])
    assert result.exit_code == 0, result.output
    assert '"loa": 1' in result.output
    bad = runner.invoke(args=["users", "create", "--phone", "13600136001", "--password",
                              f.PASSWORD, "--name", "王五", "--id-number", "440305199005200135"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    again = runner.invoke(args=["users", "create", "--phone", "13600136002", "--password",
                                f.PASSWORD, "--name", "王五", "--id-number",
                                "440305199005200134"])
    assert again.exit_code != 0
    with app.app_context():
        assert User.query.filter_by(phone="+8613600136002").first() is None


def test_discovery_lists_levels_scopes_and_claims(app):
    metadata = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert metadata["acr_values_supported"] == [ACR.format(n) for n in range(1, 5)]
    assert "id_number" in metadata["scopes_supported"]
    for claim in ("loa", "real_name_verified", "verified_at", "birthdate", "gender",
                  "id_number"):
        assert claim in metadata["claims_supported"]


# --- OpenID Connect for Identity Assurance ------------------------------------------------

def test_verified_claims_for_a_platform_that_asks_with_the_claims_parameter(app):
    import json

    setup_users(app)
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    client_id, secret = rp_flow(app)
    request = {"userinfo": {"verified_claims": {"verification": {"trust_framework": None},
                                                "claims": {"name": None, "birthdate": None}}},
               "id_token": {"verified_claims": {"verification": {"trust_framework": None},
                                                "claims": {"name": None}}}}
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(client_id, challenge,
                                                     claims=json.dumps(request))))
    page = flow.consent(page)
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    in_token = f.claims_of(app, tokens["id_token"]).claims["verified_claims"]
    assert in_token["claims"] == {"name": "张三"}
    assert in_token["verification"]["trust_framework"] == "cn_gov_idp"
    assert in_token["verification"]["assurance_level"] == ACR.format(2)
    assert in_token["verification"]["evidence"][0]["type"] == "electronic_record"
    info = flow.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["verified_claims"]["claims"] == {"name": "张三", "birthdate": "1980-01-01"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        info["verified_claims"]["verification"]["time"])
    refreshed = flow.http.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(client_id, secret))
    assert refreshed.status_code == 200  # the refreshed ID token keeps the login's request
    assert "verified_claims" in f.claims_of(app, refreshed.get_json()["id_token"]).claims


@pytest.mark.parametrize("claims", ["not json", "[]", '{"other": {}}', '{"userinfo": 1}',
                                    '{"userinfo": {"x": null}' + " " * 5000 + "}"])
def test_a_malformed_claims_parameter_is_invalid_request(app, claims):
    client_id, _ = rp_flow(app)
    response = f.Flow(app.test_client()).start(f.authorize_params(client_id, f.pkce()[1],
                                                                  claims=claims))
    assert f.query(response.headers["Location"])["error"] == "invalid_request"


def test_unverified_or_without_profile_no_verified_claims(app):
    import json

    setup_users(app)
    client_id, secret = rp_flow(app)
    request = json.dumps({"userinfo": {"verified_claims": {"claims": {"name": None}}}})
    flow, page, verifier, _ = start_login(app, client_id, claims=request)
    page = flow.consent(page)
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    info = flow.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert "verified_claims" not in info


def test_a_clerk_cannot_verify_their_own_account(app):
    setup_users(app)
    flow, _page = clerk_session(app)
    page = flow.get("/counter?phone=13700137000")
    action, fields = f.form_of(page.get_data(as_text=True))
    fields.update(doc_type="resident_id", name=LI["name"], number=LI["number"], checked="yes")
    response = flow.post(action, data=fields)
    assert response.status_code == 400
    assert level(app, "+8613700137000") == 1


def test_face_checks_count_against_the_daily_limit(database_url, start_dev_registry):
    registry = start_dev_registry(face_outcome="fail")
    app = realname_app(database_url, registry, REALNAME_ATTEMPTS_PER_DAY=3)
    setup_users(app)
    flow, page = sign_in(app)
    page = flow.follow(bind(flow, page))  # attempt 1
    assert face(flow, page).status_code == 400  # attempt 2
    assert face(flow, page).status_code == 400  # attempt 3
    refused = flow.post(re.search(r'action="([^"]+/face)"', page.get_data(as_text=True))
                        .group(1), data=dict(re.findall(
                            r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                            page.get_data(as_text=True))))
    assert refused.status_code == 429
    assert level(app) == 2


def test_a_face_check_finished_in_another_browser_does_not_count(app, start_dev_registry):
    """Someone who knows a citizen's name and number binds them, then sends the face-check
    link to the citizen: the citizen's browser carries the return, not the binder's."""
    setup_users(app)
    flow, page = sign_in(app)
    page = flow.follow(bind(flow, page))
    html = page.get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+/face)"', html).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    started = flow.post(action, data=fields)
    session_id = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    victim = requests.get(started.headers["Location"], allow_redirects=False, timeout=5)
    assert victim.status_code in (302, 303)  # the citizen passed, in their own browser
    guessed = flow.get(f"/account/identity/face/return?face_session={session_id}")
    assert guessed.status_code == 400
    assert level(app) == 2


def test_parallel_attempts_cannot_pass_the_limit(database_url, registry):
    """Attempts are reserved before the registry is asked, atomically."""
    from idp.realname import service

    app = realname_app(database_url, registry, REALNAME_ATTEMPTS_PER_DAY=2)
    setup_users(app)
    with app.app_context():
        user = User.query.one()
        service._reserve_attempt(user)
        service._reserve_attempt(user)
        with pytest.raises(service.RealNameError, match="too_many_attempts"):
            service._reserve_attempt(user)
        service._release_attempt(user)  # an unanswered call gives its attempt back
        service._reserve_attempt(user)


def test_allowed_claims_limit_the_id_token_and_verified_claims(app):
    import json

    setup_users(app)
    flow, page = sign_in(app)
    flow.follow(bind(flow, page))
    with app.app_context():
        client_id, secret = f.rp(name="Narrow", allowed_claims=["loa", "verified_claims",
                                                                 "birthdate"])
    request = json.dumps({"id_token": {"verified_claims": {"claims": {}}},
                          "userinfo": {"verified_claims": {"claims": {}}}})
    verifier, challenge = f.pkce()
    page = flow.follow(flow.start(f.authorize_params(client_id, challenge, claims=request)))
    page = flow.consent(page)
    tokens = exchange(flow, client_id, secret, verifier, page.headers["Location"])
    claims = f.claims_of(app, tokens["id_token"]).claims
    assert claims["loa"] == 2 and "real_name_verified" not in claims
    assert claims["verified_claims"]["claims"] == {"birthdate": "1980-01-01"}
    info = flow.http.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["verified_claims"]["claims"] == {"birthdate": "1980-01-01"}
    assert "name" not in info


def test_a_first_party_platform_still_asks_before_releasing_the_document(app):
    setup_users(app)
    with app.app_context():
        client_id, _ = f.rp(name="Portal", scope="openid profile id_number", skip_consent=True)
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.start(f.authorize_params(client_id, f.pkce()[1]))))
    assert page.status_code == 302  # profile only: no consent page for a first party
    page = flow.follow(flow.start(f.authorize_params(client_id, f.pkce()[1],
                                                     scope="openid id_number")))
    assert page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True)


def test_an_essential_acr_in_the_claims_parameter_is_a_requirement(app):
    import json

    setup_users(app)
    client_id, _ = rp_flow(app)
    request = json.dumps({"id_token": {"acr": {"essential": True,
                                               "values": [ACR.format(2)]}}})
    _flow, page, _verifier, _ = start_login(app, client_id, claims=request)
    assert 'id="required-level"' in page.get_data(as_text=True)


def test_an_appeal_at_the_counter_moves_the_document(app):
    """Someone bound a citizen's document to their own account; the citizen brings the
    document to a counter, where the clerk moves it to the citizen's account."""
    setup_users(app, "13800138000", "13900139000")
    usurper, page = sign_in(app)
    usurper.follow(bind(usurper, page))
    assert level(app) == 2
    flow, _page = clerk_session(app)
    page = flow.get("/counter?phone=13900139000")
    action, fields = f.form_of(page.get_data(as_text=True))
    fields.update(doc_type="resident_id", name=ZHANG["name"], number=ZHANG["number"],
                  checked="yes")
    refused = flow.post(action, data=fields)
    assert refused.status_code == 400 and 'name="transfer"' in refused.get_data(as_text=True)
    done = flow.follow(flow.post(action, data={**fields, "transfer": "yes"}))
    assert 'id="counter-done"' in done.get_data(as_text=True)
    assert level(app, "+8613900139000") == 4 and level(app) == 1
    with app.app_context():
        holder = User.query.filter_by(phone="+8613800138000").one()
        assert IdentityBinding.query.filter_by(user_id=holder.id).first() is None
        moved = AuditEvent.query.filter_by(action="identity.verify", user_id=holder.id).order_by(
            AuditEvent.id.desc()).first()
        assert moved.detail["level_before"] == 2 and moved.detail["level_after"] == 1
        assert moved.role == "counter_clerk" and "appeal" in moved.detail["reason"]
