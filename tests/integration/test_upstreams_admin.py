"""Registering regional identity providers: ``idp upstreams …``, the admin API
(``/admin/api/upstreams``) and the console (``/admin/upstreams``). The client secret is sealed
at rest and never shown; every change is audited with who, role and the values before and
after; bad input gets a clear message."""

import json

import pytest
from cryptography.exceptions import InvalidTag

from idp.crypto import open_sealed
from idp.federation.models import Upstream
from idp.federation.models import UpstreamLink
from tests import factories as f
from tests.integration.test_admin_api import Api
from tests.integration.test_admin_api import client_token
from tests.integration.test_admin_api import last_event
from tests.integration.test_admin_api import make_staff
from tests.integration.test_admin_console import console
from tests.integration.test_admin_console import html
from tests.integration.test_admin_console import send

ADD = ["upstreams", "add", "--slug", "zj", "--name", "浙江政务服务网",
       "--issuer", "https://zj.gov.example", "--client-id", "national",
       "--client-secret", "s3cret-at-zj", "--max-level", "2"]


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def run(cli, *args, **kw):
    return cli.invoke(args=list(args), catch_exceptions=False, **kw)


def test_cli_add_list_show_enable_disable_remove(app, cli):
    r = run(cli, *ADD, "--acr", "urn:zj:loa:high=3", "--claim", "phone_number=mobile", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data == {**data, "slug": "zj", "name": "浙江政务服务网",
                    "issuer": "https://zj.gov.example", "client_id": "national",
                    "auth_method": "client_secret_basic", "scope": "openid profile phone",
                    "acr_map": {"urn:zj:loa:high": 3}, "claim_map": {"phone_number": "mobile"},
                    "max_level": 2, "enabled": True, "links": 0,
                    "callback_url": "http://127.0.0.1:5000/upstream/zj/callback"}
    assert "s3cret-at-zj" not in r.output
    with app.app_context():
        row = Upstream.query.one()
        assert b"s3cret-at-zj" not in row.client_secret_sealed
        assert row.client_secret() == "s3cret-at-zj"
        with pytest.raises(InvalidTag):  # sealed to its slug: another one does not open it
            open_sealed(row.client_secret_sealed, "upstream-secret:js")
    event = last_event(app, "upstream.added")
    assert event.actor.startswith("cli:") and event.target == "upstream:zj"
    assert "s3cret" not in json.dumps(event.detail)

    r = run(cli, "upstreams", "list")
    assert r.exit_code == 0 and "zj" in r.output and "enabled" in r.output
    assert json.loads(run(cli, "upstreams", "list", "--json").output)[0]["slug"] == "zj"
    assert json.loads(run(cli, "upstreams", "show", "zj", "--json").output)["max_level"] == 2
    assert run(cli, "upstreams", "disable", "zj").output == "zj: disabled\n"
    assert json.loads(run(cli, "upstreams", "show", "zj", "--json").output)["enabled"] is False
    assert last_event(app, "upstream.updated").detail == {
        "before": {"enabled": True}, "after": {"enabled": False}}
    assert run(cli, "upstreams", "enable", "zj").output == "zj: enabled\n"
    r = run(cli, "upstreams", "remove", "zj", input="n\n")
    assert r.exit_code != 0
    r = run(cli, "upstreams", "remove", "zj", "--yes")
    assert r.exit_code == 0 and r.output == "zj: removed (0 links)\n"
    with app.app_context():
        assert Upstream.query.count() == 0


@pytest.mark.parametrize("change, message", [
    (["--slug", "ZJ!"], "slug must be 1 to 32 lowercase letters"),
    (["--issuer", "http://zj.gov.example"], "issuer must use https"),
    (["--issuer", "https://zj.gov.example/?x=1"], "must not have a query or fragment"),
    (["--max-level", "5"], "max_level must be a level from 1 to 4"),
    (["--scope", "profile phone"], "scope must include openid"),
    (["--claim", "email=mail"], "'email' is not one of name, phone_number"),
    (["--claim", "name"], "--claim takes NAME=VALUE"),
    (["--acr", "urn:x=high"], "the level must be a whole number"),
    (["--acr", "urn:x=7"], "acr_map must be a level from 1 to 4"),
])
def test_cli_bad_input_is_a_clear_message(cli, change, message):
    args = list(ADD)
    option = change[0]
    if option in args:
        args[args.index(option) + 1] = change[1]
    else:
        args += change
    r = run(cli, *args)
    assert r.exit_code != 0 and message in r.output, r.output


def test_cli_refuses_a_second_provider_with_the_same_slug_and_unknown_ones(cli):
    assert run(cli, *ADD).exit_code == 0
    r = run(cli, *ADD)
    assert r.exit_code != 0 and "an upstream provider 'zj' already exists" in r.output
    r = run(cli, "upstreams", "show", "nope")
    assert r.exit_code != 0 and "no upstream provider 'nope'" in r.output


NEW = {"slug": "js", "name": "江苏政务服务网", "issuer": "https://js.gov.example",
       "client_id": "national", "client_secret": "js-secret", "max_level": 3}


def test_admin_api_registers_changes_and_removes(app):
    cid, token = client_token(app, "super_admin")
    api = Api(app, token)
    r = api.post("/upstreams", json=NEW)
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"].endswith("/admin/api/upstreams/js")
    assert "client_secret" not in r.get_json() and r.get_json()["max_level"] == 3
    assert api.get("/upstreams").get_json()["items"][0]["slug"] == "js"
    r = api("PATCH", "/upstreams/js", json={"max_level": 1, "client_secret": "new-secret"})
    assert r.status_code == 200 and r.get_json()["max_level"] == 1
    event = last_event(app, "upstream.updated")
    assert (event.actor, event.role) == (f"client:{cid}", "super_admin")
    assert event.detail == {"before": {"max_level": 3}, "after": {"max_level": 1},
                            "client_secret_changed": True}
    with app.app_context():
        assert Upstream.query.one().client_secret() == "new-secret"
    assert api.post("/upstreams/js/disable").get_json()["enabled"] is False
    assert api.post("/upstreams/js/enable").get_json()["enabled"] is True
    r = api("PATCH", "/upstreams/js", json={"slug": "jx"})
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_request", "error_description": "slug cannot change once registered"}
    r = api.post("/upstreams", json={**NEW, "issuer": "ftp://js"})
    assert r.status_code == 400 and r.get_json()["error_description"] == "issuer must use https"
    for issuer in ("https://[::1", "https://[zj.gov.example]"):
        r = api.post("/upstreams", json={**NEW, "issuer": issuer})
        assert r.status_code == 400 and r.get_json() == {
            "error": "invalid_request", "error_description": "issuer is not a URL"}
        r = api("PATCH", "/upstreams/js", json={"issuer": issuer})
        assert r.status_code == 400 and r.get_json()["error_description"] == (
            "issuer is not a URL")
    r = api.post("/upstreams", json={**NEW, "secret": "x"})
    assert r.status_code == 400 and r.get_json()["error_description"] == "unknown field 'secret'"
    assert api.get("/upstreams/nope").status_code == 404
    assert api("DELETE", "/upstreams/js").status_code == 204
    assert api.get("/upstreams/js").get_json() == {
        "error": "not_found", "error_description": "no upstream provider 'js'"}


def test_the_issuer_does_not_change_under_linked_accounts(app):
    """A link is to a subject at one issuer: pointing the provider at another issuer (one an
    administrator controls) would let it log in as every linked citizen by asserting their
    subjects. Without links the issuer may be corrected."""
    _cid, token = client_token(app, "super_admin")
    api = Api(app, token)
    assert api.post("/upstreams", json=NEW).status_code == 201
    moved = {"issuer": "https://js2.gov.example"}
    assert api("PATCH", "/upstreams/js", json=moved).get_json()["issuer"] == moved["issuer"]
    with app.app_context():
        from idp.federation import service

        service.link(service.get("js"), "citizen-there", f.user())
    r = api("PATCH", "/upstreams/js", json={"issuer": "https://attacker.example"})
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_request", "error_description": "issuer cannot change while accounts "
        "are linked to this provider: register the new issuer as another provider"}
    assert api("PATCH", "/upstreams/js", json=moved).status_code == 200  # the same: no change
    with app.app_context():
        assert Upstream.query.one().issuer == moved["issuer"]


def test_admin_api_roles(app):
    _cid, token = client_token(app, "auditor")
    api = Api(app, token)
    assert api.get("/upstreams").status_code == 200
    r = api.post("/upstreams", json=NEW)
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert last_event(app, "admin.denied").detail["permission"] == "upstreams.write"
    _cid, token = client_token(app, "client_registrar", name="Registrar robot")
    assert Api(app, token).get("/upstreams").status_code == 403


def test_console_adds_changes_disables_and_removes_after_asking(app):
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    flow, page = console(app, "13900139000", codes, "/admin/upstreams?lang=en")
    assert page.status_code == 200 and 'id="upstream-form"' in html(page)
    form = {"slug": "zj", "name": "浙江政务服务网", "issuer": "https://zj.gov.example",
            "client_id": "national", "client_secret": "s3cret", "auth_method":
            "client_secret_basic", "scope": "openid profile phone", "max_level": "2",
            "acr_map": "urn:zj:loa:high=3", "claim_map": "", "enabled": "yes"}
    bad = send(flow, page, "/admin/upstreams", **{**form, "acr_map": "urn:zj:loa:high=high"})
    assert bad.status_code == 400
    assert "The level must be a whole number: urn:zj:loa:high=high" in html(bad)
    bad = send(flow, page, "/admin/upstreams", **{**form, "slug": "Z J"})
    assert bad.status_code == 400 and 'id="error-slug"' in html(bad)
    added = send(flow, bad, "/admin/upstreams", **form)  # the same one-use token: not spent
    assert added.status_code == 303 and added.headers["Location"].endswith("/admin/upstreams/zj")
    page = flow.follow(added)
    assert ("The provider was added. Register http://127.0.0.1:5000/upstream/zj/callback with "
            "it as a redirect URI and as a redirect URI after logout." in html(page))
    again = send(flow, bad, "/admin/upstreams", **form)
    assert "This form was already sent. Nothing was done again." in html(flow.follow(again))
    assert "s3cret" not in html(page)
    with app.app_context():
        assert Upstream.query.one().acr_map == {"urn:zj:loa:high": 3}

    token = f.form_of(html(page))[1]["csrf_token"]
    saved = flow.post("/admin/upstreams/zj", data={**form, "csrf_token": token,
                                                   "client_secret": "", "max_level": "1"})
    assert saved.status_code == 303
    with app.app_context():
        row = Upstream.query.one()
        assert (row.max_level, row.client_secret()) == (1, "s3cret")
    page = flow.follow(saved)
    off = send(flow, page, "/admin/upstreams/zj/enabled", enabled="no")
    assert "logins through it stop" in html(flow.follow(off))
    with app.app_context():
        assert Upstream.query.one().enabled is False

    audit_page = html(flow.get("/admin/audit?action=upstream.&lang=en"))
    assert "Regional identity provider changed" in audit_page
    assert '<a href="/admin/upstreams/zj">regional identity provider zj</a>' in audit_page
    asked = flow.get("/admin/upstreams/zj/remove")
    assert "Remove 浙江政务服务网?" in html(asked)
    unconfirmed = flow.post("/admin/upstreams/zj/remove", data={
        "csrf_token": f.form_of(html(asked))[1]["csrf_token"]})
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"].endswith("/remove")
    gone = send(flow, asked, "/admin/upstreams/zj/remove", confirm="yes")
    assert gone.status_code == 303 and gone.headers["Location"].endswith("/admin/upstreams")
    with app.app_context():
        assert Upstream.query.count() == 0 and UpstreamLink.query.count() == 0
    event = last_event(app, "upstream.removed")
    assert event.role == "super_admin" and event.detail["links_removed"] == 0


def test_console_needs_the_permission(app):
    _uid, codes = make_staff(app, "13900139000", "user_admin")
    flow, page = console(app, "13900139000", codes, "/admin/upstreams")
    assert page.status_code == 403
    assert "/admin/upstreams" not in html(flow.get("/admin"))


def test_production_refuses_a_provider_on_a_private_address():
    """Its issuer names what the provider will call (discovery, token, JWKS, userinfo): in
    production, public addresses only (the guard of ``clients.fetch``)."""
    from idp import create_app
    from idp.federation import service

    app = create_app(f.PRODUCTION)
    with app.app_context():
        for issuer, problem in (("https://10.0.0.8", "names a private, local or unresolvable "
                                                     "address"),
                                ("https://127.0.0.1", "names a private, local or unresolvable "
                                                      "address"),
                                ("http://localhost:8080", "must use https"),
                                ("https://zj.gov.example:99999", "is not a URL"),
                                ("https://zj.gov.example:abc", "is not a URL"),
                                ("https://[::1", "is not a URL")):
            with pytest.raises(service.UpstreamError) as refused:
                service._checked({**NEW, "issuer": issuer}, new=True)
            assert str(refused.value) == f"issuer {problem}"
