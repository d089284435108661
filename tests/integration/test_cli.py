"""The ``idp`` command, as operators script it."""

import json
import os
import sys

import pytest


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def run(cli, *args):
    return cli.invoke(args=list(args), catch_exceptions=False)


def test_users_create_json_and_errors(cli):
    r = run(cli, "users", "create", "--phone", "138 0013 8000", "--password", "S3cure-Passw0rd!",
            "--name", "张三", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["phone"] == "+8613800138000" and data["id"] and data["name"] == "张三"
    r = run(cli, "users", "create", "--phone", "13800138000", "--password", "S3cure-Passw0rd!")
    assert r.exit_code != 0 and "already exists" in r.output
    r = run(cli, "users", "create", "--phone", "12345", "--password", "S3cure-Passw0rd!")
    assert r.exit_code != 0 and "not a valid phone number" in r.output
    r = run(cli, "users", "create", "--phone", "13900139000", "--password", "short")
    assert r.exit_code != 0 and "8" in r.output


def test_clients_create_confidential_and_public(cli):
    r = run(cli, "clients", "create", "--name", "税务平台", "--redirect-uri",
            "https://tax.gov.example/cb", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["client_id"] and len(data["client_secret"]) >= 43
    assert data["grant_types"] == ["authorization_code", "refresh_token"]
    assert data["token_endpoint_auth_method"] == "client_secret_basic"
    assert data["scope"] == "openid profile"
    r = run(cli, "clients", "create", "--name", "App", "--public", "--redirect-uri",
            "http://127.0.0.1:8765/cb", "--json")
    data = json.loads(r.output)
    assert "client_secret" not in data and data["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize("args, message", [
    (["--redirect-uri", "http://gov.example/cb"], "https"),
    (["--redirect-uri", "https://gov.example/cb#frag"], "fragment"),
    (["--redirect-uri", "https://*.gov.example/cb"], "wildcard"),
    (["--redirect-uri", "not a uri"], "absolute"),
    ([], "needs a redirect URI"),
    (["--redirect-uri", "https://a.example/cb", "--auth-method", "magic"], "auth_method"),
    (["--redirect-uri", "https://a.example/cb", "--grant-type", "password"], "not supported"),
    (["--redirect-uri", "https://a.example/cb", "--scope", "openid wizardry"], "unknown scope"),
    (["--redirect-uri", "https://a.example/cb", "--auth-method", "private_key_jwt"], "jwks"),
    (["--redirect-uri", "https://a.example/cb", "--redirect-uri", "https://b.example/cb"],
     "sector identifier"),
])
def test_clients_create_refuses_bad_metadata(cli, args, message):
    r = run(cli, "clients", "create", "--name", "X", *args)
    assert r.exit_code != 0
    assert message in r.output


def test_keys_list_and_rotate(cli):
    r = run(cli, "keys", "list", "--json")
    states = sorted((k["alg"], k["state"]) for k in json.loads(r.output))
    assert states == [("ES256", "active"), ("ES256", "next"), ("RS256", "active"),
                      ("RS256", "next")]
    r = run(cli, "keys", "rotate")
    assert r.exit_code == 0 and "retired" in r.output
    r = run(cli, "keys", "list")
    assert r.output.count("retired") == 2 and r.output.count("active") == 2


def test_dev_bootstrap_prints_a_demo_login(cli):
    r = run(cli, "dev", "bootstrap")
    assert r.exit_code == 0
    assert "client_id" in r.output and "+8613800138000" in r.output
    again = run(cli, "dev", "bootstrap")
    assert again.exit_code == 0  # idempotent: same client, a fresh secret


def test_dev_bootstrap_banner_shows_the_address_served_and_pasteable_commands(cli,
                                                                              monkeypatch):
    monkeypatch.delenv("IDP_INSTANCE_DIR", raising=False)
    r = run(cli, "dev", "bootstrap", "--port", "5000")
    assert "  Serving on:          http://127.0.0.1:5000\n" in r.output and "Note:" not in r.output
    idp = os.path.relpath(os.path.join(os.path.dirname(sys.executable), "idp"))
    assert f"$ {idp} admins grant --phone +8613800138000 --role super_admin\n" in r.output
    r = run(cli, "dev", "bootstrap", "--port", "5001")
    assert ("  Serving on:          http://127.0.0.1:5001\n"
            "  Note:                the issuer says port 5000; browsers and relying parties\n"
            "                       go there, not to this server's port\n") in r.output


def test_idp_run_serves_on_idp_port(monkeypatch, tmp_path):
    """The ``idp`` command itself (not the test runner): ``idp run`` takes IDP_PORT."""
    import flask.cli

    from idp.cli import main

    served = {}
    monkeypatch.setattr(flask.cli, "run_simple",
                        lambda host, port, app, **kw: served.update(host=host, port=port))
    for name in [n for n in os.environ if n.startswith(("IDP_", "FLASK_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FLASK_RUN_PORT", "")
    monkeypatch.delenv("FLASK_RUN_PORT")  # main sets it; the monkeypatch removes it after
    monkeypatch.setenv("IDP_ENV", "testing")
    monkeypatch.setenv("IDP_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("IDP_PORT", "15099")
    monkeypatch.setattr(sys, "argv", ["idp", "run"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0 and served == {"host": "127.0.0.1", "port": 15099}


def test_an_operator_may_set_a_common_password_with_a_warning(cli):
    r = cli.invoke(args=["users", "create", "--phone", "13900139000", "--password",
                         "password123", "--json"])
    assert r.exit_code == 0
    assert "common-password list" in r.output  # the warning (stderr, mixed in by the runner)
    r = cli.invoke(args=["users", "create", "--phone", "13900139001", "--password",
                         "x13900139001"])
    assert r.exit_code != 0  # still never the phone number
