"""The client registry: service functions (the admin console's contract), policies honoured by
the protocol endpoints, suspension on every node, secret rotation, usage figures, audit, and
the ``idp clients`` commands."""

import json

import fakeredis
import pytest
from freezegun import freeze_time

from clients import service
from clients.models import Client
from idp.accounts.models import Consent
from idp.admin.service import usage
from idp.audit.models import AuditEvent
from idp.extensions import db
from idp.store import RedisStore
from tests import factories as f
from tests.conftest import make_app
from tests.factories import claims_of
from tests.integration.test_sso import tokens_for

REDIRECT = f.REDIRECT_URI
METADATA = {"client_name": "社保平台", "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile phone"}


def register(app, metadata=None, **kw):
    with app.app_context():
        client, secret = service.register_client({**METADATA, **(metadata or {})},
                                                  actor="admin:7", role="client_registrar", **kw)
        return client.client_id, secret


def credentials_token(http, cid, secret):
    return http.post("/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))


def introspect(http, token, auth):
    return http.post("/introspect", data={"token": token}, auth=auth)


@pytest.fixture
def rp(app):
    with app.app_context():
        f.user()
    return register(app)


# --- Service API -----------------------------------------------------------------------------

def test_register_client_returns_the_secret_once_and_stores_its_hash(app):
    cid, secret = register(app, {"contacts": ["ops@si.gov.example"], "min_loa": 2,
                                 "require_mfa": True, "allowed_claims": ["name"],
                                 "access_token_ttl": 300, "skip_consent": True,
                                 "enterprise_allowed": True})
    with app.app_context():
        row = service.client_row(cid)
        assert row.client_secret_hash and secret not in json.dumps(service.client_metadata(row))
        assert row.check_client_secret(secret) and not row.check_client_secret(secret + "x")
        data = service.client_metadata(row)
        assert data["client_name"] == "社保平台" and data["status"] == "active"
        assert data["min_loa"] == 2 and data["require_mfa"] is True
        assert data["allowed_claims"] == ["name"] and data["access_token_ttl"] == 300
        assert data["refresh_token_ttl"] is None and data["skip_consent"] is True
        assert data["enterprise_allowed"] is True and data["client_secret_expires_at"] == 0
        assert "client_secret_hash" not in data and "registration_token_hash" not in data
        # the cached snapshot keeps step with every column
        record = service.get_client(cid)
        for column in Client.__table__.columns:
            assert getattr(record, column.key) == getattr(row, column.key), column.key
        event = AuditEvent.query.filter_by(action="client.registered").one()
        assert event.actor == "admin:7" and event.role == "client_registrar"
        assert event.target == f"client:{cid}" and event.detail["after"]["min_loa"] == 2
        assert secret not in json.dumps(event.detail)
        assert row.client_secret_hash not in json.dumps(event.detail)


@pytest.mark.parametrize("policy", [
    {"min_loa": 0}, {"min_loa": 5}, {"min_loa": "2"}, {"require_mfa": "yes"},
    {"access_token_ttl": 10}, {"refresh_token_ttl": 10 ** 9}, {"allowed_claims": "name"},
    {"allowed_claims": ["bad claim"]}, {"skip_consent": 1},
])
def test_policy_values_are_checked(app, policy):
    with app.app_context(), pytest.raises(service.ClientValidationError) as exc:
        service.register_client({**METADATA, **policy}, actor="admin:1")
    assert exc.value.error == "invalid_client_metadata"


def test_pending_registration_and_approval(app, client):
    cid, secret = register(app, {"grant_types": ["client_credentials"], "scope": "api"},
                           status="pending")
    assert credentials_token(client, cid, secret).get_json()["error"] == "invalid_client"
    with app.app_context():
        service.set_status(cid, "active", actor="admin:7")
        assert AuditEvent.query.filter_by(action="client.approved").one().detail == {
            "before": {"status": "pending"}, "after": {"status": "active"}}
    assert credentials_token(client, cid, secret).status_code == 200


def test_update_client_changes_only_what_it_names_and_audits_the_difference(app):
    cid, _ = register(app, {"contacts": ["a@si.gov.example"]})
    with app.app_context():
        row = service.update_client(cid, {"client_name": "社保平台 II", "min_loa": 3,
                                          "contacts": ["a@si.gov.example"]}, actor="admin:7")
        assert row.name == "社保平台 II" and row.min_loa == 3 and row.scope == (
            "openid profile phone")
        event = AuditEvent.query.filter_by(action="client.updated").one()
        assert event.detail == {"before": {"client_name": "社保平台", "min_loa": 1},
                                "after": {"client_name": "社保平台 II", "min_loa": 3}}
        # no change: no event
        service.update_client(cid, {"min_loa": 3}, actor="admin:7")
        assert AuditEvent.query.filter_by(action="client.updated").count() == 1
        # grant types alone: response types follow
        row = service.update_client(cid, {"grant_types": ["client_credentials"],
                                          "redirect_uris": []}, actor="admin:7")
        assert row.response_types == [] and row.grant_types == ["client_credentials"]
        for bad, error in (({"status": "active"}, "invalid_client_metadata"),
                           ({"client_secret": "x"}, "invalid_client_metadata"),
                           ({"logo_uri": "http://x.example/l.png"}, "invalid_client_metadata"),
                           ({"sector_identifier": "other.example"}, "invalid_client_metadata")):
            with pytest.raises(service.ClientValidationError) as exc:
                service.update_client(cid, bad, actor="admin:7")
            assert exc.value.error == error
        with pytest.raises(service.ClientNotFound):
            service.update_client("nope", {"min_loa": 2}, actor="admin:7")


def test_list_clients_searches_filters_and_pages(app):
    ids = [register(app, {"client_name": f"平台 {i}"})[0] for i in range(5)]
    register(app, {"client_name": "Tax office"}, status="pending")
    with app.app_context():
        rows, total = service.list_clients()
        assert total == 6 and rows[0].name == "Tax office"  # newest first
        rows, total = service.list_clients(query="tax")
        assert total == 1 and rows[0].status == "pending"
        rows, total = service.list_clients(query=ids[2][:8])
        assert ids[2] in [r.client_id for r in rows]
        rows, total = service.list_clients(status="pending")
        assert [r.name for r in rows] == ["Tax office"]
        rows, total = service.list_clients(page=2, per_page=4)
        assert total == 6 and len(rows) == 2
        assert service.list_clients(query="100%_")[1] == 0
        with pytest.raises(service.ClientValidationError):
            service.list_clients(status="gone")


def test_initial_access_tokens_are_issued_hashed_and_revoked(app):
    with app.app_context():
        row, token = service.issue_initial_access_token(
            actor="admin:7", label="Tax bureau", expires_in=3600, max_uses=None,
            scopes="openid profile", auto_approve=True)
        assert row.token_hash != token and len(token) >= 43 and row.usable()
        assert service.find_initial_access_token(token).id == row.id
        event = AuditEvent.query.filter_by(action="client.iat_issued").one()
        assert event.target == f"iat:{row.id}" and token not in json.dumps(event.detail)
        service.revoke_initial_access_token(row.id, actor="admin:7")
        service.revoke_initial_access_token(row.id, actor="admin:7")  # idempotent
        assert service.find_initial_access_token(token) is None
        assert AuditEvent.query.filter_by(action="client.iat_revoked").count() == 1
        with pytest.raises(service.InitialAccessTokenNotFound):
            service.revoke_initial_access_token(9999, actor="admin:7")
        for bad in ({"expires_in": 5}, {"label": ""}, {"max_uses": 0},
                    {"scopes": "bad\"scope"}):
            kw = {"label": "x", "expires_in": 3600, **bad}
            with pytest.raises(service.ClientValidationError):
                service.issue_initial_access_token(actor="admin:7", **kw)


# --- Policies at the protocol endpoints ---------------------------------------------------------

def test_token_lifetimes_follow_the_client_policy(app, rp, client):
    with app.app_context():
        service.update_client(rp[0], {"access_token_ttl": 120, "refresh_token_ttl": 3600},
                              actor="admin:7")
    tokens = tokens_for(f.Flow(client), client, rp)
    assert tokens["expires_in"] == 120
    at = claims_of(app, tokens["access_token"]).claims
    assert at["exp"] - at["iat"] == 120
    body = introspect(client, tokens["refresh_token"], rp).get_json()
    assert body["exp"] - body["iat"] == 3600
    with app.app_context():
        service.update_client(rp[0], {"access_token_ttl": None}, actor="admin:7")
    r = client.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]}, auth=rp)
    assert r.get_json()["expires_in"] == 900  # the server default again


def test_skip_consent_for_first_party_platforms(app, rp, client):
    with app.app_context():
        service.update_client(rp[0], {"skip_consent": True}, actor="admin:7")
    flow = f.Flow(client)
    verifier, challenge = f.pkce()
    page = flow.login(flow.follow(flow.start(f.authorize_params(rp[0], challenge))))
    assert page.status_code == 302 and "code" in f.query(page.headers["Location"])
    # prompt=consent still asks
    page = flow.follow(flow.start(f.authorize_params(rp[0], challenge, prompt="consent")))
    assert 'name="decision"' in page.get_data(as_text=True)


def test_allowed_claims_limit_what_userinfo_releases(app, rp, client):
    with app.app_context():
        service.update_client(rp[0], {"allowed_claims": ["name"]}, actor="admin:7")
    tokens = tokens_for(f.Flow(client), client, rp, scope="openid profile phone")
    claims = client.get("/userinfo", headers={
        "Authorization": "Bearer " + tokens["access_token"]}).get_json()
    assert claims["name"] == "张三" and claims["sub"] and "phone_number" not in claims


# --- Suspension ------------------------------------------------------------------------------

@pytest.fixture
def two_nodes(database_url, tmp_path):
    """Two app nodes sharing one database and one Redis, as in production."""
    url = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    server = fakeredis.FakeServer()
    a = make_app(url)
    b = make_app(url, fresh=False)
    for node in (a, b):
        node.extensions["idp.store"] = RedisStore(fakeredis.FakeRedis(server=server),
                                                  prefix="nodes:")
    yield a, b
    for node in (a, b):
        with node.app_context():
            db.engine.dispose()


def test_suspension_takes_effect_at_once_on_every_node(two_nodes):
    a, b = two_nodes
    with a.app_context():
        f.user()
    cid, secret = register(a)
    node_a, node_b = a.test_client(), b.test_client()
    tokens = tokens_for(f.Flow(node_a), node_a, (cid, secret))
    # node B has the client in its cache
    assert introspect(node_b, tokens["access_token"], (cid, secret)).get_json()["active"]
    assert cid in b.extensions["idp.client_cache"]._items

    with a.app_context():
        service.set_status(cid, "suspended", actor="admin:7", reason="leaked secret")
    for node in (node_a, node_b):
        verifier, challenge = f.pkce()
        r = node.get("/authorize", query_string=f.authorize_params(cid, challenge))
        assert r.status_code == 400 and "Location" not in r.headers
        assert "invalid_client" in r.get_data(as_text=True)
        assert introspect(node, tokens["access_token"], (cid, secret)).get_json() == {
            "active": False}
        assert introspect(node, tokens["refresh_token"], (cid, secret)).get_json() == {
            "active": False}
        r = node.post("/token", data={"grant_type": "refresh_token",
                                      "refresh_token": tokens["refresh_token"]},
                      auth=(cid, secret))
        assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
        r = node.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
        assert r.status_code == 401
    # wrong credentials still fail outright, even at introspection
    r = introspect(node_b, tokens["access_token"], (cid, "wrong"))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"

    with a.app_context():
        assert service.client_metadata(service.client_row(cid))["status_reason"] == (
            "leaked secret")
        service.set_status(cid, "active", actor="admin:7")
        assert AuditEvent.query.filter_by(action="client.activated").count() == 1
    # nothing was revoked: unexpired tokens count again
    assert introspect(node_b, tokens["access_token"], (cid, secret)).get_json()["active"]
    r = node_b.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]},
                    auth=(cid, secret))
    assert r.status_code == 200


def test_set_status_checks_its_input_and_is_idempotent(app, rp):
    with app.app_context():
        with pytest.raises(service.ClientValidationError):
            service.set_status(rp[0], "deleted", actor="admin:7")
        with pytest.raises(service.ClientNotFound):
            service.set_status("nope", "active", actor="admin:7")
        service.set_status(rp[0], "active", actor="admin:7")
        assert AuditEvent.query.filter(AuditEvent.action.like("client.%")).count() == 1


# --- Secret rotation -------------------------------------------------------------------------

def test_rotation_keeps_the_old_secret_for_the_overlap(app, client):
    with freeze_time("2026-12-01 08:00:00") as frozen:
        cid, old = register(app, {"grant_types": ["client_credentials"], "scope": "api"})
        with app.app_context():
            new = service.rotate_secret(cid, actor="admin:7")
            event = AuditEvent.query.filter_by(action="client.secret_rotated").one()
            assert event.detail["overlap_seconds"] == 86400
            assert old not in json.dumps(event.detail) and new not in json.dumps(event.detail)
        assert credentials_token(client, cid, old).status_code == 200
        assert credentials_token(client, cid, new).status_code == 200
        frozen.tick(86400 - 1)
        assert credentials_token(client, cid, old).status_code == 200
        frozen.tick(2)
        assert credentials_token(client, cid, old).get_json()["error"] == "invalid_client"
        assert credentials_token(client, cid, new).status_code == 200


@pytest.mark.config(CLIENT_SECRET_ROTATION_OVERLAP=60)
def test_the_overlap_comes_from_the_configuration_or_the_call(app, client):
    with freeze_time("2026-12-01 08:00:00") as frozen:
        cid, first = register(app, {"grant_types": ["client_credentials"], "scope": "api"})
        with app.app_context():
            second = service.rotate_secret(cid, actor="admin:7")
        frozen.tick(61)
        assert credentials_token(client, cid, first).get_json()["error"] == "invalid_client"
        with app.app_context():
            third = service.rotate_secret(cid, actor="admin:7", overlap_seconds=0)
        assert credentials_token(client, cid, second).get_json()["error"] == "invalid_client"
        assert credentials_token(client, cid, third).status_code == 200
        with app.app_context():
            fourth = service.rotate_secret(cid, actor="admin:7", overlap_seconds=600)
            service.rotate_secret(cid, actor="admin:7", overlap_seconds=600)
        # only one previous secret is kept: a second rotation ends the first overlap
        assert credentials_token(client, cid, third).get_json()["error"] == "invalid_client"
        assert credentials_token(client, cid, fourth).status_code == 200


@pytest.mark.config(CLIENT_SECRET_LIFETIME=3600)
def test_client_secret_expires_at_is_honoured(app, client):
    with freeze_time("2026-12-01 08:00:00") as frozen:
        cid, secret = register(app, {"grant_types": ["client_credentials"], "scope": "api"})
        with app.app_context():
            data = service.client_metadata(service.client_row(cid))
        assert data["client_secret_expires_at"] == int(frozen.time_to_freeze.timestamp()) + 3600
        assert credentials_token(client, cid, secret).status_code == 200
        frozen.tick(3590)
        with app.app_context():  # rotating just before the end: the old one stops with it
            new = service.rotate_secret(cid, actor="admin:7")
        frozen.tick(11)
        assert credentials_token(client, cid, secret).get_json()["error"] == "invalid_client"
        assert credentials_token(client, cid, new).status_code == 200


def test_only_secret_clients_rotate(app):
    cid, _ = register(app, {"token_endpoint_auth_method": "none"})
    with app.app_context(), pytest.raises(service.ClientValidationError):
        service.rotate_secret(cid, actor="admin:7")
    with app.app_context(), pytest.raises(service.ClientValidationError):
        service.rotate_secret(register(app)[0], actor="admin:7", overlap_seconds=-1)


# --- Deletion and usage ------------------------------------------------------------------------

def test_delete_client_revokes_its_tokens(app, rp, client):
    tokens = tokens_for(f.Flow(client), client, rp)
    with app.app_context():
        assert Consent.query.filter_by(client_id=rp[0]).count() == 1
        service.delete_client(rp[0], actor="admin:7")
        assert Consent.query.filter_by(client_id=rp[0]).count() == 0  # consents go too
        with pytest.raises(service.ClientNotFound):
            service.client_row(rp[0])
        with pytest.raises(service.ClientNotFound):
            service.delete_client(rp[0], actor="admin:7")
    r = client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert r.status_code == 401
    r = client.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]}, auth=rp)
    assert r.get_json()["error"] == "invalid_client"


def test_usage_counts_logins_and_tokens_per_day(app, rp, client):
    # 2026-11-28 17:30 UTC is already 2026-11-29 in China (days are counted in Beijing time)
    for moment in ("2026-11-27 02:00:00", "2026-11-28 17:30:00", "2026-11-29 03:00:00"):
        with freeze_time(moment):
            http = app.test_client()  # a new browser each time: a real login
            tokens = tokens_for(f.Flow(http), http, rp)
    with freeze_time("2026-11-29 03:00:00"):
        client.post("/token", data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]}, auth=rp)
    with app.app_context():
        other = register(app, {"client_name": "Other"})[0]
        with freeze_time("2026-11-29 10:00:00"):
            days = usage(rp[0], days=4)
            assert usage(other, days=2) == [
                {"date": "2026-11-28", "logins": 0, "tokens": 0},
                {"date": "2026-11-29", "logins": 0, "tokens": 0}]
        with pytest.raises(service.ClientNotFound):
            usage("nope")
    assert days == [
        {"date": "2026-11-26", "logins": 0, "tokens": 0},
        {"date": "2026-11-27", "logins": 1, "tokens": 1},
        {"date": "2026-11-28", "logins": 0, "tokens": 0},
        {"date": "2026-11-29", "logins": 2, "tokens": 3},
    ]


# --- The command line --------------------------------------------------------------------------

@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def run(cli, *args):
    return cli.invoke(args=list(args), catch_exceptions=False)


def test_cli_lifecycle(app, cli):
    r = run(cli, "clients", "create", "--name", "税务平台", "--redirect-uri",
            "https://tax.gov.example/cb", "--pending", "--json")
    assert r.exit_code == 0, r.output
    created = json.loads(r.output)
    cid = created["client_id"]
    assert created["status"] == "pending" and created["client_secret"]
    r = run(cli, "clients", "list", "--status", "pending", "--json")
    assert [c["client_id"] for c in json.loads(r.output)["clients"]] == [cid]
    assert cid in run(cli, "clients", "list").output
    r = run(cli, "clients", "show", cid, "--json")
    shown = json.loads(r.output)
    assert shown["client_name"] == "税务平台" and "client_secret" not in shown
    assert "税务平台" in run(cli, "clients", "show", cid).output
    assert run(cli, "clients", "activate", cid).exit_code != 0  # pending: approve, not activate
    r = run(cli, "clients", "approve", cid)
    assert r.exit_code == 0 and "pending -> active" in r.output
    assert "already active" in run(cli, "clients", "approve", cid).output
    r = run(cli, "clients", "suspend", cid, "--reason", "audit finding")
    assert r.exit_code == 0 and "active -> suspended" in r.output
    assert run(cli, "clients", "approve", cid).exit_code != 0
    assert run(cli, "clients", "activate", cid).exit_code == 0
    r = run(cli, "clients", "set-policy", cid, "--min-loa", "3", "--require-mfa",
            "--skip-consent", "--access-token-ttl", "300", "--scope", "openid profile phone",
            "--allowed-claims", "name phone_number", "--enterprise", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {
        "client_id": cid, "min_loa": 3, "require_mfa": True, "skip_consent": True,
        "enterprise_allowed": True, "scope": "openid profile phone",
        "access_token_ttl": 300, "allowed_claims": ["name", "phone_number"]}
    r = run(cli, "clients", "set-policy", cid, "--access-token-ttl", "0", "--allowed-claims",
            "*", "--no-skip-consent", "--json")
    assert json.loads(r.output) == {"client_id": cid, "skip_consent": False,
                                    "access_token_ttl": None, "allowed_claims": None}
    r = run(cli, "clients", "rotate-secret", cid, "--overlap", "0", "--json")
    rotated = json.loads(r.output)
    assert rotated["client_secret"] != created["client_secret"]
    assert rotated["previous_secret_valid_until"] is None
    with app.app_context():
        actors = {e.actor for e in AuditEvent.query.filter(AuditEvent.target == f"client:{cid}")}
        assert len(actors) == 1 and actors.pop().startswith("cli:")
    r = run(cli, "clients", "delete", cid, "--yes")
    assert r.exit_code == 0 and "deleted" in r.output
    assert run(cli, "clients", "show", cid).exit_code != 0


@pytest.mark.parametrize("args, message", [
    (["clients", "show", "nope"], "no client"),
    (["clients", "approve", "nope"], "no client"),
    (["clients", "suspend", "nope"], "no client"),
    (["clients", "rotate-secret", "nope"], "no client"),
    (["clients", "delete", "nope", "--yes"], "no client"),
    (["clients", "set-policy", "nope", "--min-loa", "2"], "no client"),
    (["clients", "list", "--status", "gone"], "gone"),
    (["clients", "rotate-secret", "{cid}", "--overlap", "-5"], "-5"),
    (["clients", "set-policy", "{cid}"], "nothing to change"),
    (["clients", "set-policy", "{cid}", "--min-loa", "5"], "min_loa"),
    (["clients", "set-policy", "{cid}", "--access-token-ttl", "5"], "access_token_ttl"),
    (["clients", "set-policy", "{cid}", "--scope", "openid wizardry"], "unknown scope"),
    (["clients", "iat", "create", "--label", "x", "--expires-in", "10"], "expires_in"),
    (["clients", "iat", "create", "--label", "x", "--expires-in", "600", "--max-uses", "2",
      "--unlimited"], "exclude"),
    (["clients", "iat", "create", "--label", "x", "--expires-in", "600", "--max-uses", "0"],
     "max_uses"),
    (["clients", "iat", "create", "--expires-in", "600"], "--label"),
    (["clients", "iat", "revoke", "999"], "no initial access token"),
    (["clients", "iat", "revoke", "abc"], "abc"),
])
def test_cli_bad_input_is_a_message_and_a_failure(app, cli, args, message):
    cid, _ = register(app)
    r = cli.invoke(args=[a.replace("{cid}", cid) for a in args])
    assert r.exit_code not in (0, None), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert message in r.output
    assert "Traceback" not in r.output


def test_cli_initial_access_tokens(app, cli, client):
    r = run(cli, "clients", "iat", "create", "--label", "Tax bureau", "--expires-in", "3600",
            "--unlimited", "--auto-approve", "--scope", "openid profile", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["max_uses"] is None and data["auto_approve"] is True
    r = client.post("/connect/register", json={"client_name": "X", "redirect_uris": [REDIRECT]},
                    headers={"Authorization": "Bearer " + data["initial_access_token"]})
    assert r.status_code == 201 and r.get_json()["status"] == "active"
    listed = json.loads(run(cli, "clients", "iat", "list", "--json").output)
    assert listed[0]["uses"] == 1 and "initial_access_token" not in listed[0]
    assert data["initial_access_token"] not in run(cli, "clients", "iat", "list").output
    r = run(cli, "clients", "iat", "create", "--label", "One", "--expires-in", "600", "--json")
    assert json.loads(r.output)["max_uses"] == 1
    r = run(cli, "clients", "iat", "revoke", str(data["id"]))
    assert r.exit_code == 0
    r = client.post("/connect/register", json={"client_name": "X", "redirect_uris": [REDIRECT]},
                    headers={"Authorization": "Bearer " + data["initial_access_token"]})
    assert r.status_code == 401


@pytest.mark.parametrize("url, allowed", [
    ("https://127.0.0.1/jwks.json", False),
    ("https://10.0.0.8/jwks.json", False),
    ("https://169.254.169.254/latest/meta-data", False),
    ("https://[::1]/jwks.json", False),
    ("https://localhost/jwks.json", False),
    ("https://no-such-host.invalid/jwks.json", False),
    ("https://8.8.8.8/jwks.json", True),
])
def test_production_never_fetches_from_its_own_network(url, allowed):
    """Registrants name jwks_uri and sector_identifier_uri: in production the provider does not
    call private, local or unresolvable addresses for them (SSRF)."""
    from clients.fetch import check_fetchable
    from idp import create_app

    app = create_app(f.PRODUCTION)
    with app.app_context():
        assert (check_fetchable(url) is None) is allowed


@pytest.mark.parametrize("port", ["99999", "abc"])
def test_production_refuses_a_url_with_a_port_that_is_no_port(port):
    """A port out of range or not a number is refused as metadata (``invalid_client_metadata``,
    at RFC 7591 registration as at the admin API), not a server error."""
    from idp import create_app

    app = create_app(f.PRODUCTION)
    with app.app_context():
        for field, extra in (("jwks_uri", {"token_endpoint_auth_method": "private_key_jwt"}),
                             ("backchannel_logout_uri", {})):
            with pytest.raises(service.ClientValidationError) as refused:
                service.register_client({"client_name": "X",
                                         "redirect_uris": ["https://rp.example/cb"],
                                         field: f"https://rp.example:{port}/x", **extra},
                                        actor="test")
            assert refused.value.error == "invalid_client_metadata"
            assert refused.value.description == (
                f"'https://rp.example:{port}/x' is not an absolute URI")


def test_a_rebinding_dns_answer_cannot_redirect_the_fetch(monkeypatch):
    """The address checked is the address connected to: a name that resolves to a public
    address for the check and to a local one for the connection is refused."""
    import socket

    from clients import fetch
    from idp import create_app

    answers = iter([("93.184.216.34",), ("127.0.0.1",)])

    def resolve(host, port, *args, **kwargs):
        address = next(answers, ("127.0.0.1",))[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(fetch.socket, "getaddrinfo", resolve)
    app = create_app(f.PRODUCTION)
    with app.app_context():
        with pytest.raises(fetch.FetchError, match="public"):
            fetch.fetch_json("https://rebind.example/jwks.json", "test-rebind")
        assert fetch.check_fetchable("https://8.8.8.8:8443/jwks.json") is not None
