"""Registering an enterprise against the legal-person registry over real HTTP: the development
registries (citizens and companies, one signed service) on a loopback port; the adapter's
answers, an outage, a forged answer; the self-service page of a verified legal
representative; the audit (never a name or a number)."""

import contextlib
import json
import socket

import pytest
from flask import Flask

from idp.audit.models import AuditEvent
from idp.enterprise import devregistry
from idp.enterprise.models import Enterprise
from idp.enterprise.registry import HttpLegalPersonRegistry
from idp.realname import devregistry as people
from idp.realname import service as realname
from idp.realname.verifiers import PersonClaim
from idp.realname.verifiers import VerificationUnavailable
from tests import factories as f
from tests.conftest import make_app
from tests.conftest import serve_in_thread

SECRET = "dev-legal-person-registry-secret-0123456789"
TECH = "911101080000000194"        # 示例科技有限公司, represented by 张三
TRADE = "91310115000000027G"       # 示例贸易有限公司, represented by 李四
CANCELLED = "911101050000000439"   # 示例餐饮有限公司, cancelled, represented by 张三
ZHANG = PersonClaim(name="张三", doc_type="resident_id", number="11010119800101031X")
LI = {"name": "李四", "doc_type": "resident_id", "number": "310101198502150422"}


def _valid(first16):
    from idp.enterprise.codes import check_character
    from idp.enterprise.codes import organisation_check

    first17 = first16 + organisation_check(first16[8:16])
    return first17 + check_character(first17)


UNKNOWN = _valid("9144030500000099")  # valid, and not in the registry


pytest_plugins = ["tests.realname_fixtures"]


@contextlib.contextmanager
def running_registries(secret=SECRET, companies=None):
    """The citizen and legal-person development registries in one app on a loopback port (with
    the fault injection of ``tests.realname_fixtures``)."""
    from tests.realname_fixtures import Faults
    from tests.realname_fixtures import wsgi_server_for

    app = Flask("registries")
    app.config.update(DEV_REGISTRY_SECRET=secret, DEV_REGISTRY_PEOPLE=None,
                      DEV_REGISTRY_FACE_OUTCOME="pass", DEV_REGISTRY_COMPANIES=companies,
                      ENV_NAME="testing")
    app.register_blueprint(people.bp)
    app.register_blueprint(devregistry.bp)
    faults = Faults(app.wsgi_app)
    app.wsgi_app = faults
    server = serve_in_thread(wsgi_server_for(app))
    try:
        yield f"http://127.0.0.1:{server.server_port}", faults
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def registries():
    with running_registries() as found:
        yield found


@pytest.fixture
def app(database_url, registries):
    url, _faults = registries
    return make_app(database_url, REALNAME_REGISTRY_URL=url, REALNAME_REGISTRY_SECRET=SECRET,
                    ENTERPRISE_REGISTRY_URL=url, ENTERPRISE_REGISTRY_SECRET=SECRET,
                    REALNAME_RETRIES=0)


def adapter(url, secret=SECRET, **kw):
    return HttpLegalPersonRegistry(url, "gov-idp", secret, **kw)


# --- the adapter ----------------------------------------------------------------------------

def test_the_registry_answers_match_mismatch_and_not_found(registries):
    url, faults = registries
    found = adapter(url).verify(TECH, ZHANG)
    assert (found.outcome, found.name, found.entity_type, found.status) == (
        "match", "示例科技有限公司", "enterprise", "operating")
    assert found.reference.startswith("dev-")
    other = adapter(url).verify(TRADE, ZHANG)
    assert (other.outcome, other.name) == ("mismatch", "示例贸易有限公司")
    assert adapter(url).verify(UNKNOWN, ZHANG).outcome == "not_found"
    assert adapter(url).verify(CANCELLED, ZHANG).status == "cancelled"
    assert faults.calls == 4


def test_an_outage_a_slow_answer_and_a_forged_one_are_no_answer(registries):
    url, faults = registries
    faults.fail_next = 3
    with pytest.raises(VerificationUnavailable, match="answered 503"):
        adapter(url, retries=2, backoff=0).verify(TECH, ZHANG)
    assert faults.calls == 3
    faults.fail_next = 1
    assert adapter(url, retries=1, backoff=0).verify(TECH, ZHANG).matched  # one retry heals
    faults.delay = 0.5
    with pytest.raises(VerificationUnavailable, match="did not answer in time"):
        adapter(url, read_timeout=0.1, retries=0).verify(TECH, ZHANG)
    faults.delay = 0
    for mode in ("forged", "unsigned", "stale"):
        faults.answer = mode
        with pytest.raises(VerificationUnavailable, match="signature"):
            adapter(url, retries=0).verify(TECH, ZHANG)
    faults.answer = None
    with pytest.raises(VerificationUnavailable, match="answered 401"):
        adapter(url, secret="another-secret-another-secret-0123456").verify(TECH, ZHANG)


def test_a_registry_that_is_not_listening():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(VerificationUnavailable, match="unreachable"):
        adapter(f"http://127.0.0.1:{port}", retries=0).verify(TECH, ZHANG)


def test_a_companies_file_with_a_bad_code_is_refused(tmp_path):
    bad = tmp_path / "companies.csv"
    bad.write_text("credit_code,name,entity_type,status,representative_name,"
                   "representative_doc_type,representative_number\n"
                   f"{TECH[:-1]}X,示例,enterprise,operating,张三,resident_id,"
                   "11010119800101031X\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: check_character"):
        devregistry.load_companies(str(bad))
    assert len(devregistry.load_companies()) == 7


# --- the self-service page --------------------------------------------------------------------

def verified(app, phone="13800138000", person=ZHANG):
    """A citizen verified at level 2 by the (development) citizen registry."""
    with app.app_context():
        user = f.user(phone=phone, name=person.name)
        realname.verify_with_registry(user, person.doc_type, person.name, person.number)
        return user.id


def signed_in(app, phone="13800138000"):
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.get("/account/enterprises")), username=phone)
    assert page.status_code == 200
    return flow, flow.get("/account/enterprises?lang=en")  # English from here on


def register(flow, page, code):
    from tests.integration.test_admin_console import send

    r = send(flow, page, "/account/enterprises/register", credit_code=code)
    assert r.status_code == 303  # every answer is a redirect, with its message to show
    return r, flow.follow(r)


def text(page):
    return page.get_data(as_text=True)


def test_a_verified_representative_registers_their_enterprise(app):
    user_id = verified(app)
    flow, page = signed_in(app)
    assert 'name="credit_code"' in text(page)
    r, page = register(flow, page, "9111 0108 0000 0001 94")
    assert r.headers["Location"] == f"/account/enterprises/{TECH}"
    assert "示例科技有限公司" in text(page) and "confirmed by the registry" in text(page)
    with app.app_context():
        row = Enterprise.query.filter_by(credit_code=TECH).one()
        assert (row.legal_representative_id, row.verification, row.status) == (
            user_id, "registry", "operating")
        event = AuditEvent.query.filter_by(action="enterprise.verified").one()
        assert (event.outcome, event.actor, event.role, event.target) == (
            "success", f"user:{user_id}", "legal_representative", f"enterprise:{TECH}")
        logged = json.dumps(event.detail, ensure_ascii=False)
        assert "张三" not in logged and "11010119800101031X" not in logged


@pytest.mark.parametrize("code, message", [
    (TRADE, "The registry does not list you as the legal representative of this enterprise."),
    (UNKNOWN, "The registry does not list you as the legal representative of this enterprise."),
    (CANCELLED, "The registry lists this enterprise as cancelled or revoked: it cannot be "
                "registered."),
    (TECH[:-1] + "X", "The check character (position 18) does not match."),
])
def test_what_the_registry_refuses_changes_nothing(app, code, message):
    verified(app)
    flow, page = signed_in(app)
    _r, page = register(flow, page, code)
    assert f"Nothing was changed: {message}" in text(page)
    with app.app_context():
        assert Enterprise.query.count() == 0


def test_a_citizen_below_level_2_is_sent_to_verify_first(app):
    with app.app_context():
        f.user()
    flow, page = signed_in(app)
    assert "Verify your identity first." in text(page)
    _r, page = register(flow, page, TECH)
    assert "Verify your identity with the registry (level 2) first" in text(page)
    with app.app_context():
        assert Enterprise.query.count() == 0


def test_an_outage_changes_nothing_and_is_audited(app, registries):
    _url, faults = registries
    verified(app)
    flow, page = signed_in(app)
    faults.fail_next = 1
    _r, page = register(flow, page, TECH)
    assert "The registry is unavailable. Nothing was changed; try again later." in text(page)
    with app.app_context():
        assert Enterprise.query.count() == 0
        event = AuditEvent.query.filter_by(action="enterprise.verified").one()
        assert (event.outcome, event.detail) == ("error", {"reason": "unavailable"})


def test_the_registry_makes_the_matched_person_the_representative(app):
    """An enterprise an operator declared with someone else is brought up to the registry."""
    from idp.enterprise import service

    user_id = verified(app)
    with app.app_context():
        other = f.user(phone="13900139000")
        service.declare(TECH, "旧名称", other, actor=service.Actor.operator("cli:test"))
        other_id = other.id
    flow, page = signed_in(app)
    register(flow, page, TECH)
    with app.app_context():
        row = Enterprise.query.filter_by(credit_code=TECH).one()
        assert (row.name, row.legal_representative_id, row.verification) == (
            "示例科技有限公司", user_id, "registry")
        event = AuditEvent.query.filter_by(action="enterprise.verified").one()
        assert event.detail["before"]["legal_representative"] == f"user:{other_id}"
        assert event.detail["after"]["legal_representative"] == f"user:{user_id}"


def test_the_development_provider_mounts_the_registry_beside_the_citizen_one(database_url):
    app = make_app(database_url, DEV_REGISTRY_MOUNT=True)
    assert app.config["ENTERPRISE_REGISTRY_URL"] == app.config["ISSUER"] + "/dev/registry"
    assert app.config["ENTERPRISE_REGISTRY_SECRET"] == app.config["REALNAME_REGISTRY_SECRET"]
    r = app.test_client().post("/dev/registry/v1/enterprise/verify", json={})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_signature"
    unmounted = make_app(database_url, fresh=False)
    assert unmounted.test_client().post("/dev/registry/v1/enterprise/verify").status_code \
        == 404
