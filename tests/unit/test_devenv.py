"""A development checkout's settings (idp/devenv.py): what ``make run`` records and what the
``idp`` command reads, and never in production."""

import os
import stat

import pytest

from config import ConfigError
from idp import devenv


@pytest.fixture
def environ(tmp_path):
    return {"IDP_INSTANCE_DIR": str(tmp_path)}


def test_make_run_records_what_the_server_uses(environ, tmp_path):
    environ.update(IDP_PORT="15001", IDP_DATABASE_URL="sqlite:////tmp/x'y\\z$HOME.db")
    settings = devenv.make_run(environ)
    assert settings == {"IDP_ENV": "development", "IDP_PORT": "15001",
                        "IDP_ISSUER": "http://127.0.0.1:15001",
                        "IDP_DATABASE_URL": "sqlite:////tmp/x'y\\z$HOME.db"}
    for name in (devenv.SECRETS_FILE, devenv.RUN_FILE):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    secrets = (tmp_path / devenv.SECRETS_FILE).read_text()
    assert all(f"{name}=" in secrets for name in devenv.GENERATORS)

    cli = {"IDP_INSTANCE_DIR": str(tmp_path)}  # another terminal: nothing exported
    assert devenv.load(cli) == [str(tmp_path / devenv.RUN_FILE),
                                str(tmp_path / devenv.SECRETS_FILE)]
    assert {k: cli[k] for k in settings} == settings  # quoting survives the round trip
    assert all(cli[name] for name in devenv.GENERATORS)


def test_a_given_issuer_is_kept_and_a_new_run_replaces_the_last(environ, tmp_path):
    devenv.make_run({**environ, "IDP_PORT": "15001", "IDP_REDIS_URL": "redis://127.0.0.1/1"})
    secrets = (tmp_path / devenv.SECRETS_FILE).read_text()
    settings = devenv.make_run({**environ, "IDP_ISSUER": "http://localhost:5000"})
    assert settings == {"IDP_ENV": "development", "IDP_PORT": "5000",
                        "IDP_ISSUER": "http://localhost:5000"}
    assert "IDP_REDIS_URL" not in (tmp_path / devenv.RUN_FILE).read_text()
    assert (tmp_path / devenv.SECRETS_FILE).read_text() == secrets  # generated once


def test_make_run_refuses_a_port_that_is_not_one(environ):
    with pytest.raises(ConfigError, match="IDP_PORT must be a TCP port number"):
        devenv.make_run({**environ, "IDP_PORT": "http"})


def test_the_environment_wins_and_make_run_env_over_dev_env(environ, tmp_path):
    (tmp_path / devenv.SECRETS_FILE).write_text("IDP_SECRET_KEY=from-dev-env\nIDP_ISSUER=a\n")
    (tmp_path / devenv.RUN_FILE).write_text("IDP_ISSUER='b'\nIDP_PORT='1'\n")
    environ["IDP_PORT"] = "2"
    devenv.load(environ)
    assert environ["IDP_SECRET_KEY"] == "from-dev-env" and environ["IDP_ISSUER"] == "b"
    assert environ["IDP_PORT"] == "2" and environ["IDP_ENV"] == "development"


def test_no_files_nothing_read(environ):
    assert devenv.load(environ) == [] and "IDP_ENV" not in environ


def test_production_refuses_to_start_next_to_development_files(environ, tmp_path):
    (tmp_path / devenv.SECRETS_FILE).write_text("IDP_SECRET_KEY=dev\n")
    environ["IDP_ENV"] = "production"
    with pytest.raises(ConfigError) as caught:
        devenv.load(environ)
    assert str(caught.value) == (
        f"IDP_ENV=production, but {tmp_path / devenv.SECRETS_FILE} holds development "
        "settings, which a production process never reads: remove the development files "
        f"(dev.env, make-run.env) from {tmp_path}, or set IDP_INSTANCE_DIR to the production "
        "instance folder")
    assert "IDP_SECRET_KEY" not in environ


def test_a_development_file_cannot_turn_production_on(environ, tmp_path):
    (tmp_path / devenv.SECRETS_FILE).write_text("IDP_ENV=production\n")
    with pytest.raises(ConfigError, match="development files configure development only"):
        devenv.load(environ)


def test_testing_reads_no_development_file(environ, tmp_path):
    (tmp_path / devenv.SECRETS_FILE).write_text("IDP_SECRET_KEY=dev\n")
    environ["IDP_ENV"] = "testing"
    assert devenv.load(environ) == [] and "IDP_SECRET_KEY" not in environ


def test_development_files_set_idp_settings_only(environ, tmp_path):
    """The attack review: a make-run.env could set any variable for the idp command —
    FLASK_DEBUG (the interactive debugger), FLASK_RUN_HOST (every address), HTTPS_PROXY."""
    (tmp_path / devenv.RUN_FILE).write_text(
        "IDP_PORT='1'\nFLASK_DEBUG='1'\nFLASK_RUN_HOST='0.0.0.0'\n")
    with pytest.raises(ConfigError) as caught:
        devenv.load(environ)
    assert str(caught.value) == (
        f"{tmp_path / devenv.RUN_FILE} sets FLASK_DEBUG, FLASK_RUN_HOST: development files "
        "hold IDP_* settings only, and the idp command takes nothing else from them")
    assert "IDP_PORT" not in environ and "FLASK_DEBUG" not in environ
